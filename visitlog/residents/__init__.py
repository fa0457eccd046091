"""Residents as rosters write them: phones, names, address remarks and ID numbers.

Pure functions over text, no database and no UI. Each reading keeps what was
written and adds what visitlog understands of it:

* :mod:`visitlog.residents.phones`: the numbers in a contact cell (mobiles,
  Shanghai landlines with their extension, several numbers in one cell,
  Excel's numeric forms, masked numbers) and what could not be read;
* :mod:`visitlog.residents.names`: the people named in a head's cell (老王,
  王阿姨, 王秀英/冯玲建, 王*国, traditional characters, remarks such as （已故）);
* :mod:`visitlog.residents.notes`: remarks that offices put into the address
  cell (【空关】, （出租）, 、备注：…), which are a note and not the address;
* :mod:`visitlog.residents.idnumbers`: 身份证号, full or masked, wherever they
  turn up, so that they can be dropped (visitlog never stores them).

Nothing here raises on any text: what cannot be understood is reported as a
warning kind (see :data:`WARNING_KINDS`), never as an error.
"""

from visitlog.residents.idnumbers import find_ids, is_id_header, strip_ids
from visitlog.residents.names import NameReading, Person, name_key, read_name
from visitlog.residents.notes import split_address_remarks
from visitlog.residents.phones import Number, PhoneReading, phone_numbers, read_phones

#: Every warning kind a reading can carry, in the order reports list them.
WARNING_KINDS = (
    "phone_unreadable",
    "phone_shortened",
    "phone_masked",
    "name_partial",
    "address_remark",
    "id_removed",
)

__all__ = [
    "WARNING_KINDS",
    "NameReading",
    "Number",
    "Person",
    "PhoneReading",
    "find_ids",
    "is_id_header",
    "name_key",
    "phone_numbers",
    "read_name",
    "read_phones",
    "split_address_remarks",
    "strip_ids",
]

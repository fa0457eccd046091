"""The realistic roster corpus (tests/real_roster.py) keeps its own promises.

These tests check the generator, not visitlog: determinism, whole
buildings, every form class and every pair class present in a street of
about 2,000 households, labels that point where they say, written values
that really have the form their label names, valid ID numbers, and files
that read back (stdlib csv, openpyxl) with exactly the cells generated.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import Counter, defaultdict

import pytest
import real_roster as rr
from real_roster_files import SHEET, STALE_SHEET, columns, expected_rows, read_csv, read_xlsx
from real_roster_forms import (
    ADDRESS_REMARKS,
    ESTATES,
    FULL_WIDTH,
    TRADITIONAL,
    TWO_NUMBER_FORMS,
)

SEED = 1


@pytest.fixture(scope="module")
def street() -> rr.Corpus:
    return rr.generate(SEED)


@pytest.fixture(scope="module")
def pairs(street: rr.Corpus) -> list[rr.DuplicatePair]:
    return street.duplicate_pairs()


def _snapshot(c: rr.Corpus) -> tuple:
    return (
        [(r.source, r.household, r.cells, r.forms, r.changes) for r in c.rows],
        [(h.head, h.phones, h.id_number, h.rooms, h.relations) for h in c.households],
        c.lookalikes,
        c.duplicate_pairs(),
    )


def test_same_seed_same_corpus_other_seed_other_corpus():
    first = rr.generate(5, households=700)
    assert _snapshot(first) == _snapshot(rr.generate(5, households=700))
    other = rr.generate(6, households=700)
    assert [r.cells for r in other.rows] != [r.cells for r in first.rows]


def test_street_shape(street: rr.Corpus):
    hs = street.households
    assert 2000 <= len(hs) < 2100
    communities = Counter(h.community for h in hs)
    assert len(communities) >= 3
    grids = Counter(h.grid for h in hs)
    assert all(100 <= n <= 400 for n in grids.values()), grids
    assert all(len({h.community for h in hs if h.grid == g}) == 1 for g in grids)
    estates = {h.estate for h in hs}
    assert {"曹杨一村", "曹杨七村", "兰溪新村", "桂巷新村", "花溪园"} <= estates
    # common names repeat as they do in a real street
    names = Counter(h.head for h in hs)
    assert names.most_common(1)[0][1] >= 5
    assert sum(1 for n in names.values() if n > 1) >= 50
    # elderly households with only a landline, and households with no phone at all
    landline_only = [h for h in hs if h.phones and all(len(p) == 8 for p in h.phones)]
    assert len(landline_only) > len(hs) * 0.1
    assert all(len(p) in (8, 11) for h in hs for p in h.phones)
    assert any(not h.phones for h in hs)
    assert Counter(len(h.phones) for h in hs).keys() == {0, 1, 2}
    tags = Counter(t for h in hs for t in h.tags)
    assert tags["独居老人"] > tags["低保"] > 0
    assert all(h.members == 1 for h in hs if "独居老人" in h.tags)


def test_buildings_are_whole(street: rr.Corpus):
    held: dict[tuple[str, int], Counter] = defaultdict(Counter)
    for h in street.households:
        for room in h.rooms:
            held[(h.estate, h.building)][room] += 1
    assert len(held) == len(street.buildings)
    for b in street.buildings:
        assert 5 <= b.floors <= 7 and 2 <= b.flats <= 6
        rooms = held[(b.estate, b.number)]
        assert set(rooms) == set(b.rooms), (b, sorted(rooms))
        if not b.old_style:
            assert all(n == 1 for n in rooms.values()) or any(
                r == "parent_child_same_flat" for r in (la.cls for la in street.lookalikes)
            )
    # old 非成套 buildings: two households behind one room number
    assert any(
        n == 2 for b in street.buildings if b.old_style for n in held[(b.estate, b.number)].values()
    )
    # families holding two flats side by side
    two = [h for h in street.households if len(h.rooms) == 2]
    assert two and all(int(h.rooms[1]) == int(h.rooms[0]) + 1 for h in two)


def test_alias_table_is_ground_truth(street: rr.Corpus):
    assert rr.ADDRESS_ALIASES["曹杨一村"] == "花溪路45弄"
    assert rr.ADDRESS_ALIASES["曹杨七村"] == "兰溪路137弄"
    gates = list(rr.ADDRESS_ALIASES.values())
    assert len(gates) == len(set(gates)), "two estates behind one road and lane"
    assert rr.SHORT_NAMES["一村"] == "曹杨一村" and rr.SHORT_NAMES["7村"] == "曹杨七村"
    assert rr.SHORT_NAMES["桂巷"] == "桂巷新村"
    assert set(street.aliases) == {h.estate for h in street.households}
    for row in street.rows:
        h = street.households[row.household]
        text = unicodedata.normalize("NFKC", str(row.cells["地址"]))
        estate = ESTATES[h.estate]
        system = row.forms["address"][0]
        if system in ("addr_road", "addr_both"):
            assert estate.gate in text, (row.cells["地址"], h.estate)
        if system in ("addr_estate", "addr_both"):
            assert estate.name in text
        if system == "addr_short":
            assert any(s in text for s in estate.shorts) and estate.name not in text
        if system == "addr_bare":
            assert estate.name not in text and estate.gate not in text


def test_every_form_class_occurs(street: rr.Corpus):
    seen = Counter((f, c) for r in street.rows for f, cs in r.forms.items() for c in cs)
    missing = [(f, c) for f, cs in rr.FORM_CLASSES.items() for c in cs if not seen[(f, c)]]
    assert not missing
    assert {r.source for r in street.rows} == set(rr.SOURCES)


def test_every_pair_class_occurs(street: rr.Corpus, pairs: list[rr.DuplicatePair]):
    classes = Counter(c for p in pairs for c in p.classes)
    assert [c for c in rr.VARIANT_CLASSES if not classes[c]] == []
    assert set(classes) <= set(rr.VARIANT_CLASSES)
    decidable = Counter(c for p in pairs if p.decidable for c in p.classes)
    assert [c for c in rr.VARIANT_CLASSES if not decidable[c]] == []
    assert 0 < sum(not p.decidable for p in pairs) < len(pairs) / 3
    lookalikes = Counter(la.cls for la in street.lookalikes)
    assert [c for c in rr.LOOKALIKE_CLASSES if not lookalikes[c]] == []


def test_duplicate_labels_point_at_one_household(street: rr.Corpus, pairs: list[rr.DuplicatePair]):
    rows = street.rows
    assert all(r.index == i for i, r in enumerate(rows))
    for p in pairs:
        assert p.a < p.b
        assert rows[p.a].household == rows[p.b].household == p.household
    assert {(p.a, p.b) for p in pairs} == street.true_pairs()
    # every household is listed; duplicates are about a quarter of the households
    assert {r.household for r in rows} == {h.id for h in street.households}
    assert len(rows) - len(street.households) == round(0.25 * len(street.households))
    # the committee's roster lists each of its households once, a few only roster B has
    in_a = Counter(r.household for r in rows if r.source == "A")
    assert set(in_a.values()) == {1}
    assert 0 < len(street.households) - len(in_a) < len(street.households) * 0.05
    assert all(r.changes == () for r in rows if r.source == "A")


def test_look_alike_labels_point_at_different_households(street: rr.Corpus):
    hs = street.households
    for la in street.lookalikes:
        a, b = hs[la.a], hs[la.b]
        assert la.a < la.b and a.id != b.id
        same_place = (a.estate, a.building) == (b.estate, b.building)
        if la.cls == "owner_two_flats":
            assert a.head == b.head and a.phones == b.phones and a.phones
            assert set(a.rooms) != set(b.rooms) and same_place
        elif la.cls in ("shared_room", "parent_child_same_flat"):
            assert same_place and a.rooms == b.rooms
        elif la.cls == "siblings_parent_phone":
            assert same_place and a.floor != b.floor and set(a.phones) & set(b.phones)
            assert a.head[0] == b.head[0]
        elif la.cls == "parent_phone_other_floor":
            assert same_place and a.floor != b.floor and set(a.phones) & set(b.phones)
            parent, child = (a, b) if a.old else (b, a)
            assert child.head[0] in (parent.head[0], (parent.spouse or "?")[0])
        elif la.cls == "same_name_neighbours":
            assert a.head == b.head and a.estate == b.estate
            assert (a.building, a.rooms) != (b.building, b.rooms)
        elif la.cls == "next_building_same_room":
            assert a.estate == b.estate and abs(a.building - b.building) == 1
            assert set(a.rooms) & set(b.rooms) and a.head[0] == b.head[0]
    rel = {(r, h.id, o) for h in hs for r, o in h.relations}
    for la in street.lookalikes:
        if la.cls == "siblings_parent_phone":
            assert ("sibling_of", la.a, la.b) in rel
        if la.cls == "parent_child_same_flat":
            assert {("parent_of", la.a, la.b), ("parent_of", la.b, la.a)} & rel


def test_decidable_means_the_rows_say_enough(street: rr.Corpus, pairs: list[rr.DuplicatePair]):
    rows = street.rows
    by_room = Counter((h.estate, h.building, room) for h in street.households for room in h.rooms)
    for p in pairs:
        x, y = rows[p.a], rows[p.b]
        if "name_empty" in x.forms["head"] + y.forms["head"] and (
            x.forms["phone"] == ("phone_empty",) or y.forms["phone"] == ("phone_empty",)
        ):
            assert not p.decidable, "nothing but the address agrees"
        h = street.households[p.household]
        if (
            x.cells["户主"] == y.cells["户主"] == h.head
            and x.cells["联系电话"] == y.cells["联系电话"] != ""
            and x.cells["地址"] == y.cells["地址"]
            and all(by_room[(h.estate, h.building, r)] == 1 for r in h.rooms)
        ):
            assert p.decidable
    # the textbook hopeless pair: a surname-only masked name, no phone, the other address system
    hopeless = [
        p
        for p in pairs
        if "address_system" in p.classes
        and any(
            re.fullmatch(r".\*+", str(rows[i].cells["户主"]))
            and rows[i].forms["phone"] == ("phone_empty",)
            for i in (p.a, p.b)
        )
    ]
    assert hopeless and not any(p.decidable for p in hopeless)
    # The flat's landline is shared by the households behind one door: with two
    # different heads, or with only a surname, it cannot tell a spouse written as
    # head from a parent and a grown child registered apart.
    for p in pairs:
        x, y = rows[p.a], rows[p.b]
        shared = {n for n, v in x.evidence.phones if v == "full"} & {
            n for n, v in y.evidence.phones if v == "full"
        }
        if shared and all(len(n) == 8 for n in shared) and "head_other_member" in p.classes:
            if not x.evidence.names or not y.evidence.names:
                continue
            assert not p.decidable


# -- written values have the form their label names ---------------------------------------------

_PHONE = {
    "phone_empty": r"",
    "mobile": r"1\d{10}",
    "mobile_spaced": r"1\d\d \d{4} \d{4}",
    "mobile_dashed": r"1\d\d-\d{4}-\d{4}",
    "mobile_plus86": r"\+86 1\d\d \d{4} \d{4}",
    "mobile_86dash": r"86-1\d{10}",
    "mobile_float": r"1\d{10}\.0",
    "mobile_masked": r"1\d\d\*{4}\d{4}",
    "wrong_length": r"\d{7}|\d{9}|\d{10}|\d{12}",
    "landline8": r"[2-6]\d{7}",
    "landline8_dash": r"[2-6]\d{3}-\d{4}",
    "landline_021dash": r"021-\d{8}",
    "landline_021paren": r"\(021\)\d{8}",
    "landline_021space": r"021 \d{4} \d{4}",
    "landline_ext_zhuan": r"\d{8}转\d{3}",
    "landline_ext_dash": r"\d{8}-\d{4}",
    "landline_ext_en": r"\d{8} ext \d{2}",
    "landline_excel": r"21[2-6]\d{7}",
}


def _text(value) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def test_phone_cells_have_their_form(street: rr.Corpus):
    for row in street.rows:
        value, forms = row.cells["联系电话"], row.forms["phone"]
        h = street.households[row.household]
        if forms[0] in TWO_NUMBER_FORMS:
            sep = re.escape(TWO_NUMBER_FORMS[forms[0]])
            assert len(forms) == 3 and isinstance(value, str)
            assert re.fullmatch(f"(?:{_PHONE[forms[1]]}){sep}(?:{_PHONE[forms[2]]})", value), (
                value,
                forms,
            )
            continue
        assert len(forms) == 1
        assert re.fullmatch(_PHONE[forms[0]], _text(value)), (value, forms)
        if forms[0] in ("mobile_float", "landline_excel"):
            assert isinstance(value, float if forms[0] == "mobile_float" else int)
        if (
            forms[0] not in ("phone_empty", "wrong_length", "mobile_masked")
            and "phone_changed" not in row.changes
        ):
            digits = re.sub(r"\D", "", _text(value).split("转")[0].split(" ext")[0])
            assert any(p in digits for p in h.phones), (value, h.phones)


_TITLES = ("阿姨", "老师", "阿婆", "女士", "师傅", "伯伯", "先生")


def _name_has_form(text: str, form: str, head: str) -> bool:
    """Whether *text* writes *head* in name form *form* (see real_roster_forms.render_name)."""
    rest = text[len(head) :] if text.startswith(head) else ""
    if form == "plain":
        return text == head
    if form == "empty":
        return text == ""
    if form == "nickname":
        return text in (f"老{head[0]}", f"小{head[0]}", f"阿{head[-1]}")
    if form == "honorific":
        return text[0] == head[0] and text[1:] in _TITLES
    if form == "remark":
        return bool(rest) and rest[0] in "（(" and rest[-1] in "）)"
    if form == "two_heads":
        return bool(rest) and rest[0] in "/、／ " and len(rest) > 2
    if form == "masked":
        return text[0] == head[0] and "*" in text and len(text) == len(head)
    if form == "traditional":
        return len(text) == len(head) and any(ch in set(TRADITIONAL.values()) for ch in text)
    if form == "fullwidth_space":
        return text == f"{head[0]}\u3000{head[1:]}"
    if form == "stray":
        return text != head and re.sub(r"[ .。]", "", text) == head
    raise AssertionError(form)


def test_name_cells_have_their_form(street: rr.Corpus):
    for row in street.rows:
        text, (form,) = str(row.cells["户主"]), row.forms["head"]
        h = street.households[row.household]
        head = h.spouse if "head_other_member" in row.changes else h.head
        assert _name_has_form(text, form.removeprefix("name_"), head), (text, form, head)


def test_address_cells_have_their_forms(street: rr.Corpus):
    full_width_digits = "０１２３４５６７８９"
    for row in street.rows:
        text, forms = str(row.cells["地址"]), set(row.forms["address"])
        plain = unicodedata.normalize("NFKC", text)
        has = {
            "addr_full_width": any(ch in full_width_digits for ch in text),
            "addr_prefix": "普陀区" in text,
            "addr_building_unit": bool(re.search("号楼|幢|栋", text)),
            "addr_remark_head": text.startswith(
                tuple(r[0] for heads, _ in ADDRESS_REMARKS.values() for r in heads)
            ),
            "addr_zero_pad": bool(
                re.search(r"(?<!\d)0\d{2}(?:号|-|幢|栋)|(?<![\d])0\d{3}(?:室|$|、|-)", plain)
            ),
            "addr_cn_numeral": bool(re.search("[一二三四五六七八九十]+(?:号|幢|栋)", plain)),
            "addr_two_rooms": bool(
                re.search(r"\d{3,4}、\d{3,4}|(?:号|幢|栋|楼)\d{3,4}-\d{3,4}", plain)
            ),
        }
        for form, present in has.items():
            assert present == (form in forms), (text, sorted(forms), form)
        if "addr_no_shi" in forms:
            assert "室" not in text
        if "addr_dash" in forms:
            assert re.search(r"\d-\d", plain)
    # remarks say what is true of the household
    for row in street.rows:
        text, h = str(row.cells["地址"]) + str(row.cells["户主"]), street.households[row.household]
        if "空关" in text:
            assert h.occupancy == "空置", text
        if "出租" in text or "租客" in text or "群租" in text:
            assert h.occupancy == "出租", text
        if "独居" in text:
            assert "独居老人" in h.tags, text
    assert any("（出租）" in str(r.cells["地址"]) for r in street.rows)


def test_estate_column_has_its_form(street: rr.Corpus):
    for row in street.rows:
        estate = ESTATES[street.households[row.household].estate]
        value = row.cells["小区"]
        form = row.forms["estate"][0]
        expected = {
            "estate_full": {estate.name},
            "estate_short": set(estate.shorts),
            "estate_empty": {""},
        }
        assert value in expected[form]


# -- ID numbers ------------------------------------------------------------------------------


def _valid_id(text: str) -> bool:
    """GB 11643: ISO 7064 MOD 11-2 over 17 digits with weights 2^(17-i) mod 11, and a real birth date."""
    if not re.fullmatch(r"\d{17}[\dX]", text):
        return False
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(text[:17]))
    check = (12 - total % 11) % 11
    if text[17] != ("X" if check == 10 else str(check)):
        return False
    try:
        dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return False
    return True


def test_id_numbers_are_valid_and_masked_ones_fit(street: rr.Corpus):
    assert _valid_id("11010519491231002X")  # the standard's own example
    assert not _valid_id("110105194912310021")
    for h in street.households:
        assert _valid_id(h.id_number), h.id_number
        born = dt.date(int(h.id_number[6:10]), int(h.id_number[10:12]), int(h.id_number[12:14]))
        assert abs((rr.TODAY - born).days / 365.25 - h.age) < 1.01
        assert int(h.id_number[16]) % 2 == (1 if h.sex == "M" else 0)
    for row in street.rows:
        value, (form,) = row.cells[rr.ID_HEADER], row.forms["id_number"]
        true = street.households[row.household].id_number
        if form.startswith("id_full"):
            assert value == true
        elif form.startswith("id_masked"):
            assert re.fullmatch(r"\d{3}\*{11}\d{3}[\dX]", value) and value[-4:] == true[-4:]
        else:
            assert value == ""
        assert form.endswith("_x") == (value.endswith("X"))
    refs = Counter(row.forms["ref"][0] for row in street.rows)
    for row in street.rows:
        ref, (form,) = row.cells["编号"], row.forms["ref"]
        if form == "ref_long_digits":
            assert re.fullmatch(r"\d{15,20}", ref) and not _valid_id(ref)
        if form == "ref_id_number":
            assert _valid_id(ref)
    assert refs["ref_long_digits"] and refs["ref_id_number"]
    assert any(
        len(r.cells["编号"]) == 18 for r in street.rows if r.forms["ref"] == ("ref_long_digits",)
    )


# -- files --------------------------------------------------------------------------------------


def test_headers_are_visitlogs_roster_headers():
    from visitlog.roster import HEADERS, header_field

    assert rr.HEADERS == HEADERS
    for roster in ("A", "B"):
        for col in columns(roster, id_column=False):
            assert header_field(col) is not None, col
    # these two are what the importer must cope with: not roster columns
    assert header_field(rr.ID_HEADER) is None
    assert header_field(rr.REMARKS_HEADER) is None


@pytest.mark.parametrize(
    ("roster", "encoding", "bom"), [("A", "utf-8-sig", True), ("B", "gbk", False)]
)
def test_csv_reads_back_cell_for_cell(street: rr.Corpus, tmp_path, roster, encoding, bom):
    path = tmp_path / f"{roster}.csv"
    lines = street.write_csv(path, roster, encoding=encoding)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == bom
    if not bom:
        with pytest.raises(UnicodeDecodeError):
            raw.decode("utf-8")
    records = read_csv(path, encoding)
    header = columns(roster)
    rows = street.roster(roster)
    assert records[0] == header
    assert records[1:] == expected_rows(rows, header, text=True)
    # line numbers are records as Excel counts them, also past cells holding a line break
    assert any("\n" in str(r.cells["联系电话"]) for r in rows)
    ref = header.index("编号")
    for r in rows:
        assert records[lines[r.index] - 1][ref] == r.cells["编号"]


@pytest.mark.slow  # writes and reads back every XLSX of the corpus
def test_xlsx_reads_back_cell_for_cell(street: rr.Corpus, tmp_path):
    import openpyxl

    path = tmp_path / "A.xlsx"
    lines = street.write_xlsx(path, "A", stale_sheet=True)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [STALE_SHEET, SHEET]
    assert wb[STALE_SHEET].sheet_state == "hidden" and wb[SHEET].sheet_state == "visible"
    ws = wb[SHEET]
    header = columns("A", remarks_column=True)
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert f"A1:{openpyxl.utils.get_column_letter(len(header))}1" in merged
    community = openpyxl.utils.get_column_letter(header.index("居民区") + 1)
    assert any(
        m.startswith(community) and m.split(":")[0][1:] != m.split(":")[1][1:] for m in merged
    )
    wb.close()
    grid = read_xlsx(path)
    rows = street.roster("A")
    first = min(lines.values())
    assert grid[first - 2][: len(header)] == header
    assert [g[: len(header)] for g in grid[first - 1 :]] == expected_rows(rows, header, text=False)
    numeric = [r for r in rows if r.forms["phone"][0] in ("mobile_float", "landline_excel")]
    col = header.index("联系电话")
    assert numeric and all(isinstance(grid[lines[r.index] - 1][col], int | float) for r in numeric)
    stale = read_xlsx(path, STALE_SHEET)
    assert stale[0] == columns("A", id_column=False) and len(stale) > len(rows) // 4


def test_gbk_holds_every_character_the_corpus_writes(street: rr.Corpus):
    for row in street.rows:
        for value in row.cells.values():
            str(value).encode("gbk")


def test_full_width_table_matches_nfkc():
    assert unicodedata.normalize("NFKC", "0123456789-".translate(FULL_WIDTH)) == "0123456789-"


@pytest.mark.slow
def test_district_size_has_ten_percent_duplicate_rows():
    corpus = rr.district(SEED)
    n = len(corpus.households)
    assert 50_000 <= n < 50_100
    assert len(corpus.rows) - n == round(0.10 * n)
    assert len({h.community for h in corpus.households}) > 50
    assert sum(1 for h in corpus.households if h.estate == "曹杨一村") > 0

"""Masking of personal data on anything printed or exported (个人信息保护法).

Names keep their first character (张三 → 张*, 王小明 → 王**), phones keep the
first three and last four digits (138****5678), and key-group tags are shown
only as counts.  A worker's own screen may show full details; printed and
exported output uses these functions unless ``--reveal`` was given.
"""

from __future__ import annotations


def mask_name(name: str | None) -> str:
    """张三 → 张*; empty stays empty."""
    name = (name or "").strip()
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def _mask_digits(digits: str) -> str:
    if len(digits) < 8:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_phone(phone: str | None) -> str:
    """13812345678 → 138****5678, each number of the contact on its own.

    The contact is read as written (``62345678转123 / 13912345678`` gives
    ``021****5678 / 139****5678``; extensions are dropped); text that holds no
    readable number shows only its last four digits, and fewer than eight
    digits are hidden entirely.
    """
    text = (phone or "").strip()
    if not text:
        return ""
    from visitlog.residents import read_phones

    numbers = read_phones(text).numbers
    if numbers:
        return " / ".join(
            _mask_digits(n.number) if n.full else _mask_masked(n.number) for n in numbers
        )
    digits = "".join(ch for ch in text if ch.isascii() and ch.isdigit())
    if not digits:
        return ""
    if len(digits) < 8:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


def _mask_masked(number: str) -> str:
    """A number another system masked (138****5678): already masked, shown as 138****5678."""
    return number[:3] + "*" * max(len(number) - 7, 4) + number[-4:]


def tag_count(tags: list[str] | None) -> str:
    """Key-group tags only as a count (the tags themselves are sensitive)."""
    return str(len(tags)) if tags else ""


def mask_tags(tags: list[str] | None, reveal: bool = False) -> str:
    """Tags as shown on a printed list: their count, or (``--reveal``) the tags."""
    if reveal:
        return "、".join(tags or [])
    return tag_count(tags)


def present_field(field: str, value: str | None, reveal: bool = False) -> str:
    """One field of a household as printed: ``head`` and ``phone`` masked unless
    ``reveal``, any other field as it is."""
    if reveal or field not in ("head", "phone"):
        return value or ""
    return mask_name(value) if field == "head" else mask_phone(value)


def present_person(
    head: str | None, phone: str | None, tags: list[str] | None, reveal: bool = False
) -> tuple[str, str, str]:
    """(name, phone, tags) of one household as printed or exported.

    Masked unless ``reveal``; the caller that reveals records it in the audit
    log (see :func:`visitlog.cli.summary.summary`).
    """
    return (
        present_field("head", head, reveal),
        present_field("phone", phone, reveal),
        mask_tags(tags, reveal),
    )

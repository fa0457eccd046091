"""Remarks that offices write into the address cell.

``【空关】曹杨一村12号301室``, ``曹杨一村12号301室（出租）``,
``花溪路45弄12号301 群租``, ``曹杨一村12号301室、备注：独居老人``: the remark
says something about the household (vacant, rented, lives alone, to check)
and is not part of the address.  :func:`split_address_remarks` takes such
remarks off either end of the cell; the address left is what gets its
matching key, the remarks become a note.

A bracket that holds part of the address stays: ``曹杨一村（花溪路45弄）12号``
keeps its bracket (it is not at an end), and an end bracket holding a number
or an address word (号 室 弄 村 路 楼 幢 栋) is address, not remark.
"""

from __future__ import annotations

import re

__all__ = ["split_address_remarks"]

# Characters that make a bracket or a trailing word part of the address.
_ADDRESS_WORD = re.compile("[0-9０-９号室弄村路楼幢栋街巷座单元层]")
_OPEN, _CLOSE = "（(【[［〔", "）)】]］〕"
_HEAD_BRACKET = re.compile(
    r"^\s*([（(【\[［〔])([^（()）【】\[\]［］〔〕]{1,20})([）)】\]］〕])\s*"
)
_TAIL_BRACKET = re.compile(
    r"\s*([（(【\[［〔])([^（()）【】\[\]［］〔〕]{1,20})([）)】\]］〕])\s*$"
)
# A remark after a separator at the end: "、备注：独居老人", " 群租", "，空关".
_TAIL_WORDS = re.compile(r"(?:\s+|\s*[、，,；;]\s*)([^\s、，,；;（()）【】]{1,20})\s*$")
# A leading word such as "空关：" or "备注:".
_REMARK_LABEL = re.compile(r"^(?:备注|说明|注)\s*[:：]\s*")


def _is_remark(text: str) -> bool:
    return bool(text.strip()) and not _ADDRESS_WORD.search(text)


def split_address_remarks(address: str | None) -> tuple[str, list[str]]:
    """Split remarks off both ends of an address cell.

    Args:
        address: the cell as written.

    Returns:
        (the address without the remarks, the remarks in the order written,
        brackets and 备注： labels taken off). An address without remarks
        comes back as it was (stripped).
    """
    text = (address or "").strip()
    heads: list[str] = []
    tails: list[str] = []
    for _ in range(4):
        m = _HEAD_BRACKET.match(text)
        if m and _is_remark(m.group(2)) and text[m.end() :].strip():
            heads.append(m.group(2).strip())
            text = text[m.end() :]
            continue
        break
    for _ in range(4):
        m = _TAIL_BRACKET.search(text)
        if m and _is_remark(m.group(2)) and text[: m.start()].strip():
            tails.insert(0, m.group(2).strip())
            text = text[: m.start()]
            continue
        m = _TAIL_WORDS.search(text)
        if m and _is_remark(m.group(1)) and text[: m.start()].strip():
            # Only after the address proper: something address-like precedes it.
            if _ADDRESS_WORD.search(text[: m.start()]):
                tails.insert(0, m.group(1).strip())
                text = text[: m.start()]
                continue
        break
    # 、备注：子女代管 splits at the comma-like separator; the label goes.
    remarks = [_REMARK_LABEL.sub("", r).strip() for r in heads + tails]
    return text.strip(), [r for r in remarks if r]

"""Strings printed on spreadsheet pages (page headers and footers of every workbook)."""

ZH = {
    # Excel's header codes: &P is the page number, &N the number of pages.
    "sheet.footer": "第 &P 页 共 &N 页",
}

EN = {
    "sheet.footer": "Page &P of &N",
}

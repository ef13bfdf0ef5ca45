"""Form C2: 新领域建妇联示范点统计表 — one row per site, for a unit or for the whole city.

Built from the sites' 申报表 answers (federation_name, committee_count, vice_chair_count,
chair_name + chair_phone, founded_on), in the order given. Landscape A4, the header row repeated
on every page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from renderers.docx_layout import (
    COLUMN_HEADER,
    LANDSCAPE,
    VALUE,
    Align,
    FormTable,
    add_split_line,
    add_title,
    new_document,
    to_docx_bytes,
    write_cell,
)
from renderers.records import FormRecord, chinese_date, chinese_stored_date

# The answers of a site's 申报表 the table prints (a form feeding it must ask each).
SITE_STATISTICS_READS = (
    "federation_name",
    "committee_count",
    "vice_chair_count",
    "chair_name",
    "chair_phone",
    "founded_on",
)
COLUMNS = ("序号", "新建妇联组织名称", "执委人数", "副主席人数", "妇联主席姓名及电话", "创建时间")
NO_SITES = "（暂无示范点）"

# 25.7 cm between the landscape margins.
_WIDTHS = (1.6, 8.0, 2.4, 2.6, 7.0, 4.1)
_ROW_CM = 1.1


def title(year: int) -> str:
    return f"{year}年新领域建妇联示范点统计表"


def render_site_statistics(reporting_unit: str, sites: Sequence[FormRecord], on: date) -> bytes:
    """The 统计表 of ``reporting_unit`` (a unit, or 市妇联 for the whole city) dated ``on``."""
    for site in sites:
        missing = [key for key in SITE_STATISTICS_READS if key not in site.answers]
        if missing:
            raise ValueError(f"统计表只汇总示范点申报表，{site.form_id!r} 的记录缺少 {'、'.join(missing)}")
    years = {site.campaign_year for site in sites}
    if len(years) > 1:
        raise ValueError(f"统计表的示范点来自不同年度：{sorted(years)}")
    year = years.pop() if years else on.year

    document = new_document(LANDSCAPE)
    add_title(document, title(year))
    add_split_line(document, f"报送单位：{reporting_unit}", f"日期：{chinese_date(on)}", LANDSCAPE)
    table = FormTable(document, _WIDTHS)
    header = table.add_row([1] * len(COLUMNS), height_cm=_ROW_CM, cant_split=True, header=True)
    for cell, text in zip(header, COLUMNS, strict=True):
        write_cell(cell, text, COLUMN_HEADER)

    if not sites:
        (cell,) = table.add_row([len(COLUMNS)], height_cm=_ROW_CM)
        write_cell(cell, NO_SITES)
    for number, site in enumerate(sites, start=1):
        cells = table.add_row([1] * len(COLUMNS), height_cm=_ROW_CM, cant_split=True)
        values = (
            str(number),
            site.text("federation_name"),
            site.text("committee_count"),
            site.text("vice_chair_count"),
            f"{site.text('chair_name')} {site.text('chair_phone')}",
            chinese_stored_date(site.text("founded_on")),
        )
        for column, (cell, value) in enumerate(zip(cells, values, strict=True)):
            write_cell(cell, value, VALUE, align=Align.LEFT if column == 1 else Align.CENTER)
    return to_docx_bytes(document, title=f"{title(year)}（{reporting_unit}）", author=reporting_unit, on=on)

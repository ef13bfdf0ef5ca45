"""The official forms as Word files: a submitted record in, the .docx a 组联部 clerk prints out.

Renderers take validated records (``FormRecord``), never a database session or a messenger
object, and return .docx bytes:

* ``render_form(record)`` — 登记表 (``cadre_registration``), 课程推荐表 (``course_recommendation``)
  or 申报表 (``site_application``), by ``record.form_id``;
* ``render_site_statistics(unit, sites, on)`` — the 统计表 over a unit's sites, or the whole city's
  with ``reporting_unit="市妇联"``; a form feeds it when its declaration says
  ``statistics = "site_statistics"`` (``statistics_fed_by``), never by its id.

Layout, following the originals at the end of each 附件 of 柳妇通〔2021〕29号:

* A4. 登记表 and 申报表 portrait; 课程推荐表 and 统计表 landscape, where their six columns and
  300-字 course summaries read better. Titles 黑体, body 仿宋 with Times New Roman for Latin
  letters and digits; the East Asian font is set on the Normal style and on every run. Exact line
  heights, so Word, WPS and LibreOffice break pages alike. All in ``docx_layout``.
* 登记表: a cover page (its “广西壮族自治区妇女联合会制” line in the cover section's footer), then
  the table; a 1000-字 主要事迹 keeps the table within two pages. Eligibility answers, the web
  story and the two photos are not printed.
* Merged cells as in the originals (``w:gridSpan``, ``w:vMerge``); the 审批意见/审核意见 cells are
  left blank with the date line (and 单位（公章）) at the bottom right, for pen and seal.
* 申报表: up to four photos in the 图片及说明 cell, the rest after the table under
  “图片及说明（续）”; photos are turned upright from their EXIF orientation first (``photos``).
* Deterministic: fixed core properties and zip entries (``docx_package``), so the same record gives
  byte-identical files.

Previews: ``intake preview --samples OUT_DIR`` (``make previews`` for ``docs/forms/``) writes every
sample (``samples``) as one .png per page (needs ``apt-get install libreoffice-writer-nogui fonts-noto-cjk
poppler-utils``); ``docx_to_pdf`` and ``pdf_to_pngs`` raise ``PreviewUnavailable`` without them.
"""

from __future__ import annotations

from renderers.course_recommendation import render_course_recommendation
from renderers.preview import PreviewError, PreviewUnavailable, docx_to_pdf, pdf_to_pngs
from renderers.records import FormRecord, RenderError
from renderers.registration import render_registration
from renderers.registry import (
    CITY_REPORTER,
    FORM_IDS,
    FORM_RENDERERS,
    STATISTICS,
    Statistics,
    statistics_fed_by,
)
from renderers.samples import sample_record, sample_sites
from renderers.site_application import render_site_application
from renderers.site_statistics import render_site_statistics


def render_form(record: FormRecord) -> bytes:
    """The official form of ``record`` as .docx bytes, chosen by ``record.form_id``."""
    renderer = FORM_RENDERERS.get(record.form_id)
    if renderer is None:
        raise RenderError(f"no renderer for form {record.form_id!r}; known forms: {', '.join(FORM_IDS)}")
    return renderer(record)


__all__ = [
    "CITY_REPORTER",
    "FORM_IDS",
    "FORM_RENDERERS",
    "STATISTICS",
    "FormRecord",
    "PreviewError",
    "PreviewUnavailable",
    "RenderError",
    "Statistics",
    "docx_to_pdf",
    "pdf_to_pngs",
    "render_course_recommendation",
    "render_form",
    "render_registration",
    "render_site_application",
    "render_site_statistics",
    "sample_record",
    "sample_sites",
    "statistics_fed_by",
]

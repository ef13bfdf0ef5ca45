"""What the page is given of the engine's output: a reply as JSON (its text, buttons, download link,
pictures) and the status report as HTML."""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

from bot.delivery.compose import CONSENT_BUTTONS, download_path
from dialogs.exchange import DocumentRef, Reply
from dialogs.reports import Cell, StatusReport


def document_link(document: DocumentRef) -> dict[str, str]:
    """Where the page downloads a document: a submission's DOCX by number and version, the export by
    its name — the download itself asks the engine for the file, for this browser's contact."""
    url = download_path(document)
    if document.kind == "export":
        label = "下载课程视频（ZIP 压缩包）" if document.videos_zip else "下载全部表格（ZIP 压缩包）"
        return {"url": url, "name": document.key, "label": label, "icon": "ZIP"}
    shown = f"#{document.key} 第{document.version}版" if document.version else f"#{document.key}"
    return {"url": url, "name": shown, "label": "下载 Word 表格", "icon": "W"}


def reply_json(reply: Reply) -> dict[str, Any]:
    """One engine reply for the page: its text, its buttons (with the menu token), a download link."""
    menu = f"{CONSENT_BUTTONS}{reply.consent_for}" if reply.consent_for else reply.menu
    item: dict[str, Any] = {"text": reply.text, "options": list(reply.options), "menu": menu}
    if reply.document is not None:
        item["document"] = document_link(reply.document)
    if reply.refuses_text:
        item["refused"] = True
    if reply.pictures:
        item["pictures"] = [{"url": download_path(p), "kind": p.kind} for p in reply.pictures]
    if reply.fill_in:
        item["fill_in"] = reply.fill_in
    return item


def status_html(report: StatusReport, *, link_units: bool = False) -> str:
    """/status as HTML a phone shows well: the title, the deadlines, one row per unit (its cells wrap
    as chips: done green, short amber, overdue red), then the city's figures. An area's row (a region's
    summary) links to that area's own page of units; with ``link_units`` (组联部) a unit's row opens
    the chat at that unit's submissions, each with its buttons."""
    esc = html.escape
    parts = [f"<h1>{esc(report.heading)}</h1>"]
    if report.deadlines:
        parts.append(
            "<ul class='deadlines'>" + "".join(f"<li>{esc(d)}</li>" for d in report.deadlines) + "</ul>"
        )
    if report.rows:
        rows = []
        for row in report.rows:
            header = esc(row.name)
            if row.area is not None:
                header = f"<a href='/status?area={quote(row.area)}'>{header}</a>"
            elif link_units:
                header = f"<a href='/?unit={quote(row.name)}'>{header}</a>"
            chips = "".join(
                f"<span class='cell {_cell_class(cell)}'>{esc(cell.text())}</span>" for cell in row.cells
            )
            rows.append(f"<tr><th scope='row'>{header}</th><td>{chips}</td></tr>")
        parts.append("<table class='units'><tbody>" + "".join(rows) + "</tbody></table>")
    figures = [report.hint, *report.figures] if report.hint else list(report.figures)
    if figures:
        parts.append("<div class='figures'>" + "".join(f"<p>{esc(line)}</p>" for line in figures) + "</div>")
    return "\n".join(parts)


def _cell_class(cell: Cell) -> str:
    """A cell's colour on the page: done is green whatever the date; short is amber until the
    deadline and red after it (“逾期”)."""
    if cell.done:
        return "done"
    return "late" if cell.late else "short"

"""Look at a rendered form without Word: DOCX → PDF (LibreOffice) → PNG pages (poppler).

``python -m renderers OUT_DIR`` renders every sample form and the city-wide 统计表 and
writes the .docx, .pdf and one .png per page into ``OUT_DIR``.

Each conversion runs LibreOffice with a throw-away user profile, so parallel runs (tests, CI)
never share or lock one profile.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

INSTALL_HINT = "apt-get install libreoffice-writer-nogui fonts-noto-cjk poppler-utils"
_TIMEOUT_S = 180


class PreviewError(RuntimeError):
    """A preview could not be produced."""


class PreviewUnavailable(PreviewError):
    """LibreOffice or poppler is not installed on this machine."""


def _tool(name: str, purpose: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise PreviewUnavailable(f"未找到 {name}，无法{purpose}。请先安装：{INSTALL_HINT}")
    return path


def docx_to_pdf(docx: Path, out_dir: Path) -> Path:
    """Convert ``docx`` to ``out_dir/<stem>.pdf`` with LibreOffice headless; returns the PDF path."""
    soffice = _tool("soffice", "把 Word 文档转换为 PDF 预览")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        command = [
            soffice,
            f"-env:UserInstallation={Path(profile).as_uri()}",
            "--headless",
            "--norestore",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out_dir),
            str(docx),
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False)
    pdf = out_dir / f"{docx.stem}.pdf"
    if result.returncode != 0 or not pdf.exists():
        raise PreviewError(
            f"LibreOffice 转换 {docx.name} 失败（返回码 {result.returncode}）：{result.stderr.strip()}"
        )
    return pdf


def pdf_to_pngs(pdf: Path, out_dir: Path, *, dpi: int = 100) -> list[Path]:
    """Render each page of ``pdf`` to ``out_dir/<stem>-<page>.png``; returns them in page order."""
    pdftoppm = _tool("pdftoppm", "把 PDF 转换为图片")
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = out_dir / pdf.stem
    for old in out_dir.glob(f"{pdf.stem}-*.png"):
        old.unlink()
    result = subprocess.run(
        [pdftoppm, "-png", "-r", str(dpi), str(pdf), str(prefix)],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        raise PreviewError(
            f"pdftoppm 转换 {pdf.name} 失败（返回码 {result.returncode}）：{result.stderr.strip()}"
        )
    page = re.compile(rf"^{re.escape(pdf.stem)}-(\d+)\.png$")
    pages = [(int(match.group(1)), path) for path in out_dir.iterdir() if (match := page.match(path.name))]
    return [path for _, path in sorted(pages)]


def write_previews(out_dir: Path) -> list[Path]:
    """Render every sample (and a city-wide 统计表) to .docx, .pdf and .png in ``out_dir``."""
    from renderers import render_form, render_site_statistics
    from renderers.registry import FORM_IDS
    from renderers.samples import sample_record, sample_sites

    out_dir.mkdir(parents=True, exist_ok=True)
    photo_dir = out_dir / "photos"
    documents = {form_id: render_form(sample_record(form_id, photo_dir)) for form_id in FORM_IDS}
    sites = sample_sites(photo_dir)
    documents["site_statistics"] = render_site_statistics("市妇联", sites, sites[0].submitted_on)
    written: list[Path] = []
    for name, content in documents.items():
        docx = out_dir / f"{name}.docx"
        docx.write_bytes(content)
        pdf = docx_to_pdf(docx, out_dir)
        written += [docx, pdf, *pdf_to_pngs(pdf, out_dir)]
    return written

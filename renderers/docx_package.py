"""The .docx package around the forms: a minimal blank template, and byte-stable saving.

python-docx's own template carries two hundred styles, a thumbnail and Mac-Word leftovers; opening
and saving it costs more than building a whole form. The template here holds only what the forms
use (styles and font table come from ``docx_layout``). ``save_deterministic`` writes the package
itself instead of ``Document.save``: fixed zip timestamps and attributes, parts in sorted order, XML
deflated and images stored as they are (they are already compressed), so the same record always
gives the same bytes.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from datetime import date, datetime

from docx.document import Document as DocxDocument
from docx.opc.part import Part

from dialogs.chinese_text import clean_text

_W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_OFFICE_RT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

_RELS_CONTENT_TYPE = "application/vnd.openxmlformats-package.relationships+xml"
_WML = "application/vnd.openxmlformats-officedocument.wordprocessingml"
_IMAGE_EXTENSIONS = frozenset({"jpeg", "jpg", "png", "gif", "bmp", "tif", "tiff"})

_CONTENT_TYPES = f"""{_XML_HEAD}<Types xmlns="{_CT_NS}">\
<Default Extension="rels" ContentType="{_RELS_CONTENT_TYPE}"/>\
<Default Extension="xml" ContentType="application/xml"/>\
<Override PartName="/word/document.xml" ContentType="{_WML}.document.main+xml"/>\
<Override PartName="/word/styles.xml" ContentType="{_WML}.styles+xml"/>\
<Override PartName="/word/settings.xml" ContentType="{_WML}.settings+xml"/>\
<Override PartName="/word/fontTable.xml" ContentType="{_WML}.fontTable+xml"/>\
<Override PartName="/docProps/core.xml" \
ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>\
<Override PartName="/docProps/app.xml" \
ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>\
</Types>"""

_PACKAGE_RELS = f"""{_XML_HEAD}<Relationships xmlns="{_RELS_NS}">\
<Relationship Id="rId1" Type="{_OFFICE_RT}/officeDocument" Target="word/document.xml"/>\
<Relationship Id="rId2" \
Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" \
Target="docProps/core.xml"/>\
<Relationship Id="rId3" Type="{_OFFICE_RT}/extended-properties" Target="docProps/app.xml"/>\
</Relationships>"""

_DOCUMENT_RELS = f"""{_XML_HEAD}<Relationships xmlns="{_RELS_NS}">\
<Relationship Id="rId1" Type="{_OFFICE_RT}/styles" Target="styles.xml"/>\
<Relationship Id="rId2" Type="{_OFFICE_RT}/settings" Target="settings.xml"/>\
<Relationship Id="rId3" Type="{_OFFICE_RT}/fontTable" Target="fontTable.xml"/>\
</Relationships>"""

# Chinese Word's defaults: compress punctuation, Word 2013+ layout rules.
_SETTINGS = f"""{_XML_HEAD}<w:settings xmlns:w="{_W_NS}">\
<w:zoom w:percent="100"/>\
<w:defaultTabStop w:val="420"/>\
<w:characterSpacingControl w:val="compressPunctuation"/>\
<w:compat><w:compatSetting w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word" \
w:val="15"/></w:compat>\
<w:themeFontLang w:val="en-US" w:eastAsia="zh-CN"/>\
</w:settings>"""

_CORE = f"""{_XML_HEAD}<cp:coreProperties \
xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" \
xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\
<dc:title></dc:title><dc:creator></dc:creator><cp:lastModifiedBy></cp:lastModifiedBy>\
<cp:revision>1</cp:revision>\
<dcterms:created xsi:type="dcterms:W3CDTF">2021-01-01T00:00:00Z</dcterms:created>\
<dcterms:modified xsi:type="dcterms:W3CDTF">2021-01-01T00:00:00Z</dcterms:modified>\
</cp:coreProperties>"""

_APP = f"""{_XML_HEAD}<Properties \
xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">\
<Application>fulian-intake</Application><DocSecurity>0</DocSecurity></Properties>"""

_DOCUMENT = f"""{_XML_HEAD}<w:document xmlns:w="{_W_NS}" xmlns:r="{_R_NS}"><w:body>{{sect_pr}}</w:body>\
</w:document>"""


def blank_package(*, styles_xml: str, font_table_xml: str, sect_pr_xml: str) -> bytes:
    """A minimal, valid .docx with the given styles, font table and (only) section properties."""
    members = {
        "[Content_Types].xml": _CONTENT_TYPES,
        "_rels/.rels": _PACKAGE_RELS,
        "docProps/core.xml": _CORE,
        "docProps/app.xml": _APP,
        "word/document.xml": _DOCUMENT.format(sect_pr=sect_pr_xml),
        "word/_rels/document.xml.rels": _DOCUMENT_RELS,
        "word/styles.xml": styles_xml,
        "word/settings.xml": _SETTINGS,
        "word/fontTable.xml": font_table_xml,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(_zip_info(name, date(2021, 1, 1), compress=True), text.encode("utf-8"))
    return buffer.getvalue()


def save_deterministic(document: DocxDocument, *, title: str, author: str, created: datetime) -> bytes:
    """Serialise ``document`` to bytes that depend only on its content.

    Core properties get fixed values (``created`` for both created and modified, revision 1); every
    zip entry gets ``created``'s date as its timestamp, fixed attributes and a sorted position.
    """
    core = document.core_properties
    core.title = clean_text(title).text[:255]  # a document property must be valid XML text too
    core.author = author[:255]
    core.last_modified_by = author[:255]
    core.created = created
    core.modified = created
    core.revision = 1

    package = document.part.package
    parts = sorted(package.iter_parts(), key=lambda part: str(part.partname))
    entries: list[tuple[str, bytes]] = [
        ("[Content_Types].xml", _content_types_xml(parts)),
        ("_rels/.rels", package.rels.xml),
    ]
    for part in parts:
        entries.append((part.partname.membername, part.blob))
        if len(part.rels):
            entries.append((part.partname.rels_uri.membername, part.rels.xml))

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, blob in entries:
            compress = name.rsplit(".", 1)[-1].lower() not in _IMAGE_EXTENSIONS
            archive.writestr(_zip_info(name, created.date(), compress=compress), blob)
    return buffer.getvalue()


def _zip_info(name: str, day: date, *, compress: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(day.year, day.month, day.day, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.create_system = 0
    info.external_attr = 0o644 << 16
    return info


def _content_types_xml(parts: Iterable[Part]) -> bytes:
    defaults = {"rels": _RELS_CONTENT_TYPE, "xml": "application/xml"}
    overrides: dict[str, str] = {}
    for part in parts:
        extension = part.partname.ext.lower()
        if extension in _IMAGE_EXTENSIONS:
            defaults[extension] = part.content_type
        else:
            overrides[str(part.partname)] = part.content_type
    lines = [f'<Default Extension="{ext}" ContentType="{ct}"/>' for ext, ct in sorted(defaults.items())]
    lines += [f'<Override PartName="{name}" ContentType="{ct}"/>' for name, ct in sorted(overrides.items())]
    return f'{_XML_HEAD}<Types xmlns="{_CT_NS}">{"".join(lines)}</Types>'.encode()

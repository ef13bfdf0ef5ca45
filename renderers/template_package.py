"""A Word template read once, and each filled copy written touching only what the filling changed.

Opening a whole .docx with python-docx and saving it again parses and re-serialises every part
(a notice's styles alone run to 300-800 KB of XML) and deflates each one again: four fifths of a
fill. A filling changes only the main document part, and, when it prints a photo, that part's
relationships and the new image. So ``WordTemplate.read`` keeps, once per template:

* the template's zip without the document part and its relationships (``base``): every other part
  (styles, fonts, numbering, headers, footers, images, settings, theme, properties) stays in it as
  the template's own compressed bytes, copied through, never parsed nor deflated again;
* the document part parsed once, copied for each fill (``new_document``);
* the document part's relationships and the package's images, so that a photo added by the fill
  gets a fresh ``rId`` and a ``word/media`` name no other part uses.

``save`` appends the document part (and, after a photo, its relationships and the image) to a copy
of ``base``. Entries keep the template's names and timestamps, so the same record always gives the
same bytes. ``[Content_Types].xml`` is the template's, with a default type for JPEG and PNG added
when missing (the two formats ``photos.prepare_photo`` gives), so a photo never needs it rewritten.
"""

from __future__ import annotations

import copy
import io
import zipfile
from dataclasses import dataclass
from typing import Any

from docx.document import Document as DocxDocument
from docx.opc.constants import RELATIONSHIP_TARGET_MODE as RTM
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.oxml import serialize_part_xml
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.package import Package
from docx.parts.document import DocumentPart
from docx.parts.image import ImagePart
from lxml import etree

from renderers.records import RenderError

__all__ = ["WordTemplate"]

_CONTENT_TYPES = "[Content_Types].xml"
_CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_PHOTO_TYPES = {"jpg": "image/jpeg", "png": "image/png"}  # what prepare_photo gives
_STORED_EXTENSIONS = frozenset({"jpeg", "jpg", "png", "gif", "bmp", "tif", "tiff"})


@dataclass(frozen=True)
class _Relationship:
    """One of the document part's relationships in the template."""

    rId: str
    reltype: str
    target: Part | str  # a stand-in part, or an external address
    is_external: bool


@dataclass(frozen=True, eq=False)
class WordTemplate:
    """A .docx template read once; ``new_document`` and ``save`` make each filled copy."""

    base: bytes
    document_partname: PackURI
    document_content_type: str
    document_element: etree._Element
    relationships: tuple[_Relationship, ...]
    relationships_xml: bytes
    images: tuple[ImagePart, ...]
    taken_names: frozenset[str]
    date_time: tuple[int, int, int, int, int, int]

    @classmethod
    def read(cls, document: DocxDocument, data: bytes) -> WordTemplate:
        """The template of ``data``, the .docx bytes ``document`` was opened from."""
        part = document.part
        partname = part.partname
        with zipfile.ZipFile(io.BytesIO(data)) as source:
            entries = {info.filename: info for info in source.infolist()}
            relationships_name = partname.rels_uri.membername
            main = entries[partname.membername]
            relationships_xml = (
                source.read(relationships_name)
                if relationships_name in entries
                else f'<Relationships xmlns="{_RELS_NS}"/>'.encode()
            )
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as base:
                for name, info in entries.items():
                    if name in (partname.membername, relationships_name):
                        continue
                    blob = source.read(info)
                    if name == _CONTENT_TYPES:
                        blob = _with_photo_types(blob)
                    base.writestr(_entry(name, info.date_time), blob)
        images = {image.partname: _image(image) for image in part.package.image_parts}

        def stand_in(target: Part) -> Part:
            """What a filling needs of a related part: its name and type (an image's bytes too, to be
            found by its hash), not its parsed XML, kept in memory for as long as the template."""
            return images.get(target.partname) or Part(target.partname, target.content_type)

        return cls(
            base=buffer.getvalue(),
            document_partname=partname,
            document_content_type=part.content_type,
            document_element=copy.deepcopy(part.element),
            relationships=tuple(
                _Relationship(
                    rel.rId,
                    rel.reltype,
                    rel.target_ref if rel.is_external else stand_in(rel.target_part),
                    rel.is_external,
                )
                for rel in part.rels.values()
            ),
            relationships_xml=relationships_xml,
            images=tuple(images.values()),
            taken_names=frozenset(entries),
            date_time=main.date_time,
        )

    def new_document(self) -> DocxDocument:
        """A fresh copy of the template's document to fill, in a package of its own."""
        package = Package()
        part = DocumentPart(
            self.document_partname,
            self.document_content_type,
            copy.deepcopy(self.document_element),
            package,
        )
        package.load_rel(RT.OFFICE_DOCUMENT, part, "rId1")
        for rel in self.relationships:
            part.load_rel(rel.reltype, rel.target, rel.rId, rel.is_external)
        for image in self.images:
            package.image_parts.append(image)
        return part.document

    def save(self, document: DocxDocument) -> bytes:
        """The filled copy as .docx bytes: the template's other parts as they were, the document part
        (and what a photo added) written anew."""
        part = document.part
        known = {rel.rId for rel in self.relationships}
        added = [rel for rel in part.rels.values() if rel.rId not in known]
        new_images = [image for image in part.package.image_parts if image not in self.images]
        buffer = io.BytesIO(self.base)
        with zipfile.ZipFile(buffer, "a") as archive:
            relationships_name = self.document_partname.rels_uri.membername
            archive.writestr(self._entry(relationships_name), self._relationships_with(added))
            archive.writestr(self._entry(self.document_partname.membername), serialize_part_xml(part.element))
            for image in new_images:
                name = image.partname.membername
                if name in self.taken_names:
                    raise RenderError(f"the photo's part {name} would replace one of the template's")
                if image.partname.ext.lower() not in _PHOTO_TYPES:
                    raise RenderError(f"the photo's part {name} has no content type in the template")
                archive.writestr(self._entry(name), image.blob)
        return buffer.getvalue()

    def _relationships_with(self, added: list[Any]) -> bytes:
        """The template's relationships of the document part, with those the filling added."""
        if not added:
            return self.relationships_xml
        root = etree.fromstring(self.relationships_xml)
        for rel in added:
            element = etree.SubElement(root, f"{{{_RELS_NS}}}Relationship")
            element.set("Id", rel.rId)
            element.set("Type", rel.reltype)
            element.set("Target", rel.target_ref)
            if rel.is_external:
                element.set("TargetMode", RTM.EXTERNAL)
        return etree.tostring(root, encoding="UTF-8", standalone=True)

    def _entry(self, name: str) -> zipfile.ZipInfo:
        return _entry(name, self.date_time)


def _entry(name: str, date_time: tuple[int, int, int, int, int, int]) -> zipfile.ZipInfo:
    """A zip entry with fixed attributes: XML deflated, images stored as they are."""
    info = zipfile.ZipInfo(name, date_time=date_time)
    stored = name.rsplit(".", 1)[-1].lower() in _STORED_EXTENSIONS
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    info.create_system = 0
    info.external_attr = 0o644 << 16
    return info


def _image(part: ImagePart) -> ImagePart:
    return ImagePart(part.partname, part.content_type, part.blob)


def _with_photo_types(content_types: bytes) -> bytes:
    """The template's content types with a default for JPEG and PNG, when it has none."""
    root = etree.fromstring(content_types)
    declared = {(element.get("Extension") or "").lower() for element in root.iter(f"{{{_CT_NS}}}Default")}
    missing = [ext for ext in _PHOTO_TYPES if ext not in declared]
    if not missing:
        return content_types
    for ext in missing:
        etree.SubElement(root, f"{{{_CT_NS}}}Default", Extension=ext, ContentType=_PHOTO_TYPES[ext])
    return etree.tostring(root, encoding="UTF-8", standalone=True)

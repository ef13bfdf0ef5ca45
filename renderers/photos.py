"""Photos made ready for a Word document: upright, in a format Word reads, not needlessly large.

A phone photo is often stored sideways with an EXIF orientation tag that Word ignores, so a photo
with a non-trivial orientation is rotated (``ImageOps.exif_transpose``) and re-encoded. WEBP/HEIF
and CMYK photos are re-encoded too, and anything longer than ``MAX_SIDE`` pixels is scaled down
(a 6-8 cm print needs ~1000 px). An upright JPEG or PNG of sensible size is used as it is.
Results are cached per file (path, size and modification time), since the same stored photo is
rendered again whenever a record is re-sent.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import ExifTags, Image, ImageOps

from dialogs.validators import decode_budget, photo_formats

MAX_SIDE = 1600
JPEG_QUALITY = 85
_KEPT_FORMATS = {"JPEG": "jpg", "PNG": "png"}


@dataclass(frozen=True)
class PreparedPhoto:
    """Image bytes ready to insert, with their real (upright) pixel size."""

    data: bytes
    width_px: int
    height_px: int
    extension: str


def prepare_photo(path: Path) -> PreparedPhoto:
    """Read a stored photo and return it upright, as JPEG or PNG, at most ``MAX_SIDE`` px long."""
    photo_formats()  # registers the HEIF opener, for iPhone photos
    stat = path.stat()
    return _prepare(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=64)
def _prepare(path: str, size: int, mtime_ns: int) -> PreparedPhoto:
    del size, mtime_ns  # part of the cache key only
    data = Path(path).read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        if image.format == "JPEG" and max(width, height) > MAX_SIDE:
            # decoded at a reduced scale (1/2, 1/4, 1/8); nothing is decoded yet
            scale = MAX_SIDE / max(width, height)
            image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
        # As the photo check: within the pixel budget, one large decode at a time. A PNG's EXIF
        # comes after its pixels, so even reading the orientation decodes it.
        with decode_budget.hold(image.width * image.height):
            orientation = image.getexif().get(ExifTags.Base.Orientation, 1)
            kept_as_is = (
                image.format in _KEPT_FORMATS
                and orientation in (0, 1)
                and max(width, height) <= MAX_SIDE
                and image.mode in ("RGB", "RGBA", "L", "LA", "P")
            )
            if kept_as_is:
                return PreparedPhoto(data, width, height, _KEPT_FORMATS[image.format or "JPEG"])
            image.load()
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    has_alpha = upright.mode in ("RGBA", "LA") or (upright.mode == "P" and "transparency" in upright.info)
    buffer = io.BytesIO()
    if has_alpha:
        upright.convert("RGBA").save(buffer, format="PNG", optimize=False)
        extension = "png"
    else:
        upright.convert("RGB").save(buffer, format="JPEG", quality=JPEG_QUALITY)
        extension = "jpg"
    return PreparedPhoto(buffer.getvalue(), upright.width, upright.height, extension)

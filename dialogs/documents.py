"""Opening a document reference for whoever asks: a submission's Word file, a stored photo or video, an
export's ZIP. A channel holds only the reference (``DocumentRef``); the file is found here, and only for
someone who may see it (a unit's contact their unit's own, 组联部 every one), in whichever of the
served notices it was submitted."""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping

from dialogs.chinese_text import plain_number
from dialogs.exchange import DocumentRef, Identity, OpenedDocument
from dialogs.file_names import is_export_name
from dialogs.form_records import Render, stored_media
from dialogs.printing import printed_form
from dialogs.served_notices import ServedNotice
from storage.repository import Repository

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ZIP_MIME = "application/zip"


def open_document(
    store: Repository,
    notices: Mapping[str, ServedNotice],
    render: Render | None,
    ref: DocumentRef,
    viewer: Identity | None = None,
) -> OpenedDocument | None:
    """The file of a document reference, or None when there is none (or ``viewer`` may not see it:
    a unit's contact sees the unit's own submissions, 组联部 every one and the exports)."""
    if ref.kind == "export":
        if viewer is not None and not viewer.supervisor:
            return None
        path = store.export_path(ref.key) if is_export_name(ref.key) else None
        return OpenedDocument(path, ref.key, ZIP_MIME) if path is not None else None
    if ref.kind in ("photo", "video"):
        return _open_photo(store, notices, ref.key, viewer)
    number = plain_number(ref.key)
    submission = store.submission(number) if number is not None else None
    notice = notices.get(submission.campaign_id) if submission is not None else None
    if submission is None or notice is None:
        return None
    if viewer is not None and not viewer.supervisor and submission.unit_id != viewer.unit_id:
        return None
    wanted = ref.version or submission.current_version
    versions = store.versions(submission.id or 0)
    version = next((v for v in versions if v.version == wanted), None)
    if version is None or not version.document_path:
        return None
    form = notice.forms[submission.form_id]
    unit = store.unit(submission.unit_id)
    assert unit is not None
    path = printed_form(store, notice.campaign, form, unit.code, version, render)
    if path is None:
        return None
    return OpenedDocument(path, f"{form.short_title}-{submission.id}-第{wanted}版.docx", DOCX_MIME)


def _open_photo(
    store: Repository, notices: Mapping[str, ServedNotice], sha256: str, viewer: Identity | None
) -> OpenedDocument | None:
    """A stored photo: for 组联部 any; for a unit's contact one in their open draft or in their
    unit's submissions; for no one else."""
    if viewer is None or not (len(sha256) == 64 and all(c in "0123456789abcdef" for c in sha256)):
        return None
    if not viewer.supervisor and sha256 not in _photos_seen_by(store, notices, viewer):
        return None
    path = store.file_path(sha256)
    if path is None or not path.is_file():
        return None
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return OpenedDocument(path, path.name, mime)


def _photos_seen_by(store: Repository, notices: Mapping[str, ServedNotice], viewer: Identity) -> set[str]:
    contact, draft = store.contact_with_draft(viewer.channel, viewer.user_id)
    if contact is None or viewer.unit_id is None:
        return set()
    seen: set[str] = set()
    if draft is not None and draft.campaign_id in notices:
        forms = notices[draft.campaign_id].forms
        seen.update(ref.key for ref in stored_media(forms[draft.form_id], draft.answers))
    for notice in notices.values():
        for submission, version in store.current_versions(notice.id, viewer.unit_id):
            seen.update(ref.key for ref in stored_media(notice.forms[submission.form_id], version.answers))
    return seen

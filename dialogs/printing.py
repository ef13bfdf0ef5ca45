"""A submitted version's official form: printed the first time it is wanted (opened, sent, exported),
outside the transaction that submitted it, then kept beside its record and reused."""

from __future__ import annotations

import logging
from pathlib import Path

from dialogs.campaign import Campaign
from dialogs.declarations import FormDecl
from dialogs.form_records import Render, RenderError, submission_record
from storage.models import SubmissionVersion
from storage.repository import Repository

log = logging.getLogger(__name__)


def printed_form(
    repository: Repository,
    campaign: Campaign,
    form: FormDecl,
    unit_code: str,
    version: SubmissionVersion,
    render: Render | None,
) -> Path | None:
    """The kept DOCX of ``version``, printed now if it has none yet; None when the version has no
    printed form, or it cannot be printed (logged, without the answers)."""
    if version.document_path is None:
        return None
    kept = repository.stored_path(version.document_path)
    if kept is not None or render is None:
        return kept
    record = submission_record(campaign, form, unit_code, version, repository.file_path)
    try:
        data = render(record)
    except RenderError as error:
        log.error("submission %s cannot be printed: %s", version.submission_id, type(error).__name__)
        return None
    return repository.store_document(version.document_path, data)

"""Export names decided in one place (``dialogs.file_names``): the ZIPs' own names follow the rule
every entry inside them follows; a videos' ZIP replaces only its own campaign's older one; a page
labels an export by what it holds, never by a word in its name."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from bot.web import document_link
from dialogs.engine import DialogEngine
from dialogs.exchange import DocumentRef, ExportKind, Inbound
from dialogs.export_jobs import UNAVAILABLE
from dialogs.exports import ZIP_WORDS, export_file_name, export_prefix, write_video_export
from dialogs.file_names import EXPORT_NAME_LIMIT, is_export_name, safe_file_name
from tests.conftest import SHANGHAI, FakeClock
from tests.test_export_jobs import submit_course_with_video
from tests.test_supervision import supervisor

AT = datetime(2021, 6, 1, 9, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("notice", "prefix"),
    [
        ("柳妇通〔2021〕29号", "柳妇通〔2021〕29号"),
        ("柳妇通/2021:29号", "柳妇通_2021_29号"),  # a slash is not a folder, a colon not dropped
        ("CON", "_CON"),  # a Windows device name
        (" 柳妇通\u200b〔2021〕29号. ", "柳妇通〔2021〕29号"),  # zero-width and trailing dot gone
        ("关于开展" + "寻找最美基层妇联干部" * 8 + "的通知", None),  # cut, ends in …
    ],
)
def test_an_export_is_named_by_the_one_file_name_rule(
    engine: DialogEngine, notice: str, prefix: str | None
) -> None:
    campaign = engine.campaign.model_copy(update={"notice": notice})
    assert export_prefix(campaign) == (prefix or safe_file_name(notice))
    for kind in ExportKind:
        name = export_file_name(campaign, ZIP_WORDS[kind], AT)
        assert name.endswith(f"-{ZIP_WORDS[kind]}-6月1日09时00分.zip") and len(name) <= EXPORT_NAME_LIMIT
        assert is_export_name(name), "what the service names an export, it opens"
    if prefix is None:
        assert export_prefix(campaign).endswith("…") and len(export_prefix(campaign)) == 40


@pytest.mark.parametrize(
    "name",
    [".tmp-1-柳妇通-导出.zip", "../intake.zip", "exports/a.zip", "intake.db", "CON.zip", "a\u200b.zip"],
)
def test_a_name_the_rule_would_not_make_is_no_export(engine: DialogEngine, name: str) -> None:
    assert not is_export_name(name)
    (engine.repository.data_dir / "exports").mkdir(parents=True, exist_ok=True)
    assert engine.open_document(DocumentRef("export", name, holds=ExportKind.FORMS)) is None


def test_a_new_videos_zip_replaces_only_its_own_campaigns_older_one(engine: DialogEngine) -> None:
    video = submit_course_with_video(engine)
    try:
        exports = engine.repository.data_dir / "exports"
        exports.mkdir(parents=True, exist_ok=True)
        word = ZIP_WORDS[ExportKind.VIDEOS]
        ours_before = exports / export_file_name(
            engine.campaign, word, datetime(2021, 5, 1, 9, 0, tzinfo=SHANGHAI)
        )
        another_notice = exports / f"柳妇通〔2022〕5号-{word}-6月1日09时00分.zip"
        for old in (ours_before, another_notice):
            old.write_bytes(b"an older videos' ZIP")

        def build(_videos: object, _local: datetime, target: object) -> None:
            target.write(b"the new videos' ZIP")  # type: ignore[attr-defined]

        made = write_video_export(engine.repository, engine.campaign, engine.forms, AT, build)
        assert made is not None and made.read_bytes() == b"the new videos' ZIP"
        assert not ours_before.exists(), "this campaign's older one is replaced"
        assert another_notice.read_bytes() == b"an older videos' ZIP", "another campaign's is kept"
    finally:
        video.unlink(missing_ok=True)


def test_the_page_labels_an_export_by_what_it_holds_not_by_its_name() -> None:
    forms_named_like_videos = DocumentRef(
        "export", f"培训-{ZIP_WORDS[ExportKind.VIDEOS]}-导出-6月1日09时00分.zip"
    )
    assert document_link(replace(forms_named_like_videos, holds=ExportKind.FORMS))["label"].startswith(
        "下载全部表格"
    )
    videos = DocumentRef("export", "柳妇通〔2021〕29号-打包-6月1日09时00分.zip", holds=ExportKind.VIDEOS)
    assert document_link(videos)["label"] == "下载课程视频（ZIP 压缩包）"
    assert DocumentRef.from_payload(videos.as_payload()) == videos, "kept through the outbox"


def test_without_an_exporter_export_says_it_is_unavailable(engine: DialogEngine, clock: FakeClock) -> None:
    engine.exports.exporter = None
    boss = supervisor(engine, clock)
    assert [reply.text for reply in engine.handle(Inbound("telegram", boss, "导出"))] == [UNAVAILABLE]

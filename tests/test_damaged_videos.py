"""An MP4 cut short, or ``ftyp`` and noise, is refused as damaged with what to do — on the web chat's
upload (over real HTTP, the body spooled to disk and probed there) and in the console — and nothing
of it is kept. (企业微信: ``tests/test_wecom_media.py``; the probe itself: ``tests/test_mp4_probe.py``.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.console import attachment_message
from bot.mp4_probe import VIDEO_DAMAGED
from dialogs.engine import DialogEngine
from dialogs.exchange import Inbound
from storage.models import Attachment
from tests.test_mp4_probe import DAMAGED, mp4
from tests.test_web_api import CSRF_HEADER, browser, sign_in
from tests.test_web_api import server_fixture as server_fixture

CUT = {name: DAMAGED[name] for name in ("media-cut-at-half", "index-last-media-cut", "ftyp-and-noise")}


@pytest.mark.parametrize("data", CUT.values(), ids=CUT.keys())
def test_a_damaged_video_uploaded_on_the_web_is_refused_with_what_to_do(
    server: str, engine: DialogEngine, data: bytes
) -> None:
    with browser(server) as client:
        csrf = sign_in(client, engine)
        headers = {CSRF_HEADER: csrf, "Content-Type": "video/mp4", "X-File-Name": "kecheng.mp4"}
        refused = client.post("/api/upload", content=data, headers=headers)
        assert refused.status_code == 422 and refused.json() == {"error": VIDEO_DAMAGED}
        assert list((engine.repository.data_dir / "files").glob("*")) == [], "nothing kept, no spool left"
        with Session(engine.repository.engine) as session:
            assert list(session.exec(select(Attachment))) == []
        whole = client.post("/api/upload", content=mp4(300, 1280, 720, payload=300_000), headers=headers)
        assert whole.status_code == 200, "the same route takes a whole file"


def test_a_damaged_video_attached_in_the_console_is_refused(tmp_path: Path) -> None:
    video = tmp_path / "kecheng.mp4"
    video.write_bytes(DAMAGED["media-cut-at-half"])
    assert attachment_message("u1", f"/attach {video}") == VIDEO_DAMAGED
    video.write_bytes(mp4(300, 1280, 720, payload=300_000))
    taken = attachment_message("u1", f"/attach {video}")
    assert isinstance(taken, Inbound) and taken.file is not None and taken.file.duration_s == 300

"""Crash recovery: a whole multi-form session through the real `intake chat` process, killed with
SIGKILL at random moments (by default 100 times, seedable) and restarted each time.

After every kill: no accepted answer is lost, no submission is duplicated or half-written. At the end
both forms are complete and each prints (its DOCX is made after the commit, so a kill may defer it).
``INTAKE_CRASH_KILLS`` and ``INTAKE_CRASH_SEED`` make a longer run by hand; the figures
are appended to ``INTAKE_CRASH_REPORT`` when set (docs/RELIABILITY.md is made from it).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from docx import Document

from bot.app import assemble_engine, load_declarations, open_repository
from bot.settings import Settings
from dialogs.exchange import DocumentRef
from storage.repository import Repository
from tests.conftest import photo_bytes
from tests.test_dialog_walks import GOOD_ANSWERS

ROOT = Path(__file__).resolve().parent.parent
INTAKE = [sys.executable, "-m", "bot.cli"]
KILLS = int(os.environ.get("INTAKE_CRASH_KILLS", "100"))
SEED = int(os.environ.get("INTAKE_CRASH_SEED", "20210525"))


class Session:
    """Decides the next line a contact would type, from what the database says they have done."""

    def __init__(self, repository: Repository, photos: list[Path]) -> None:
        self.repository = repository
        self.photos = photos
        self.keep_going = True  # while kills are wanted, start another site when the forms are done

    def tasks_done(self) -> set[str]:
        return {s.task_id for s, _v in self.repository.current_versions("liuzhou-2021")}

    def next_line(self) -> str | None:
        contact = self.repository.contact("console", "crash")
        draft = (
            self.repository.draft(contact.current_draft_id) if contact and contact.current_draft_id else None
        )
        done = self.tasks_done()
        sites = sum(1 for s, _v in self.repository.current_versions("liuzhou-2021") if s.task_id == "sites")
        if draft is None:
            if "cadres" in done and sites and not self.keep_going:
                return None
            menu = [str(label) for label, _action in (contact.menu if contact else [])]
            wanted = "登记表" if "cadres" not in done else "示范点申报表"
            if any(label.startswith(wanted) for label in menu):
                return wanted
            return "/new"
        state = draft.state
        key = state.split(".")[-1]
        if state == "review":
            return "确认提交"
        if state in ("edit_pick", "confirm_cancel"):
            return "/review"
        if state == "photos.menu":
            return "添加一张照片" if len(draft.answers.get("photos", [])) < 3 else "填写完毕"
        if key in ("id_photo", "work_photo", "photo"):
            count = len(draft.answers.get("photos", [])) + (key == "work_photo")
            return f"/attach {self.photos[count % len(self.photos)]}"
        if key == "org_name":
            return f"{GOOD_ANSWERS['org_name']}{sites + 1}号"  # each site its own name: duplicates show
        return GOOD_ANSWERS[key]

    def snapshot(self) -> dict[str, Any]:
        """The accepted answers of every draft, and every submission with its versions and record file."""
        all_drafts = self.repository.drafts(self._unit(), ("open", "submitted"))
        drafts = {d.id: d.answers for d in all_drafts}
        contact = self.repository.contact("console", "crash")
        position = [(d.id, d.state, d.revision) for d in all_drafts], contact.menu if contact else None
        submissions = []
        for submission, version in self.repository.current_versions("liuzhou-2021"):
            versions = self.repository.versions(submission.id or 0)
            record = self.repository.data_dir / version.record_path
            name = version.answers.get("org_name") or version.answers.get("name")
            submissions.append((name, len(versions), record.is_file(), version.draft_id))
        return {"drafts": drafts, "submissions": submissions, "position": position}

    def wait_for_change(self, before: dict[str, Any], timeout: float = 10) -> None:
        """Wait until the line just sent has been processed (every scripted line changes something)."""
        deadline = time.monotonic() + timeout
        while self.snapshot() == before and time.monotonic() < deadline:
            time.sleep(0.01)

    def _unit(self) -> int:
        unit = self.repository.unit_by_code("liuzhou-2021", "yufeng")
        assert unit is not None and unit.id is not None
        return unit.id


def kept(before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Every answer accepted before a kill is still there after it (drafts only grow until submitted)."""
    for draft_id, answers in before["drafts"].items():
        now = after["drafts"].get(draft_id)
        if now is None:
            return False
        for key, value in answers.items():
            if key != "photos" and now.get(key) != value:
                return False
        if len(now.get("photos", [])) < len([p for p in answers.get("photos", []) if "caption" in p]):
            return False
    return True


def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "INTAKE_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    env.pop("INTAKE_DATABASE_URL", None)
    subprocess.run([*INTAKE, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    photos = []
    for number in range(4):
        path = tmp_path / f"photo-{number}.jpg"
        path.write_bytes(photo_bytes(color=(number * 60, 90, 120)))
        photos.append(path)
    settings = Settings(data_dir=tmp_path / "data")
    declarations = load_declarations(settings)
    repository = open_repository(settings, declarations)
    session = Session(repository, photos)
    rng = random.Random(SEED)
    kills = lost_lines = 0
    started = time.monotonic()
    while session.next_line() is not None:
        killing = kills < KILLS
        session.keep_going = killing
        lines = rng.randint(1, 3) if killing else 10_000  # lines this process gets before its kill
        with subprocess.Popen(
            [*INTAKE, "chat", "--unit", "yufeng", "--user", "crash"],
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        ) as process:
            assert process.stdin is not None and process.stdout is not None
            while process.stdout.readline().strip() != "":  # the greeting (or “welcome back”)
                pass
            for number in range(lines):
                line = session.next_line()
                if line is None:
                    break
                before = session.snapshot()
                process.stdin.write(line + "\n")
                process.stdin.flush()
                if killing and number == lines - 1:
                    time.sleep(rng.uniform(0, 0.06))  # before reading the line, mid-way, or after replying
                    break
                session.wait_for_change(before)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        if not killing:
            break
        kills += 1
        after = session.snapshot()
        assert kept(before, after), f"kill {kills}: an accepted answer was lost"
        complete = [versions == 1 and record for _n, versions, record, _d in after["submissions"]]
        assert all(complete), f"kill {kills}: a half-written submission"
        names = [name for name, *_rest in after["submissions"]]
        drafts = [draft for *_rest, draft in after["submissions"]]
        assert len(set(names)) == len(names) and len(set(drafts)) == len(drafts), f"kill {kills}: duplicated"
        lost_lines += before == after
    assert session.tasks_done() == {"cadres", "sites"}, "both forms complete in the end"
    submitted = repository.current_versions("liuzhou-2021")
    engine = assemble_engine(declarations, repository)
    for submission, version in submitted:
        answers = version.answers
        assert answers.get("name") == "韦丽华" or str(answers.get("org_name")).startswith("螺蛳粉产业园")
        opened = engine.open_document(DocumentRef("submission", str(submission.id)))
        assert opened is not None, f"#{submission.id} prints (after its commit, if a kill came between)"
        assert Document(str(opened.path)).tables, f"#{submission.id} DOCX opens"
    report = os.environ.get("INTAKE_CRASH_REPORT")
    if report:
        figures = {
            "kills": kills,
            "seed": SEED,
            "lines_lost_to_a_kill": lost_lines,
            "seconds": round(time.monotonic() - started, 1),
            "submissions": len(submitted),
            "answers_lost": 0,
            "duplicates": 0,
        }
        with open(report, "a", encoding="utf-8") as out:
            out.write(json.dumps({"crash": figures}) + "\n")
    assert kills == KILLS and session.next_line() is None
    repository.engine.dispose()

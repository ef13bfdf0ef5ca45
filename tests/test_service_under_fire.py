"""The real `intake run` under twenty web contacts at once, on a bad day: killed with SIGKILL ten times
(SQLite), or with its PostgreSQL restarted five times under it.

Each contact is a browser as the page is: it sends its messages one at a time, each with an id of its
own, and sends one again (same id) when no answer came or the service said 503. Each fills 示范点申报表
after 示范点申报表 (sixteen answers, three photos with captions) until the trouble is over. Then:

* no answer the service acknowledged is lost, and none is applied twice: every submission holds
  exactly what its contact typed, in the right fields, with its three photos, and each form the
  contact saw submitted (or, its answer lost in a kill, was told was received) is there once;
* no response was a 500 (nor a bare text 500), none of the replies was the apology;
* the service's log (at DEBUG) holds no traceback and none of the names, phone numbers or session ids.

The figures go to ``INTAKE_CRASH_REPORT`` when set (docs/RELIABILITY.md is made from them).
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import assemble_engine, load_declarations, open_repository
from bot.settings import Settings
from bot.web import ALREADY_RECEIVED
from dialogs.invites import issue_invite
from storage.database import make_engine, migrate
from storage.repository import Repository
from tests.conftest import Chat, current_campaign_file, photo_bytes, report_figures
from tests.own_postgres import PrivateCluster, postgres_bin
from tests.test_web_api import SITE_ANSWERS, free_port

ROOT = Path(__file__).resolve().parent.parent
CONTACTS = 20
KILLS = int(os.environ.get("INTAKE_SERVICE_KILLS", "10"))
RESTARTS = int(os.environ.get("INTAKE_POSTGRES_RESTARTS", "5"))
SEED = int(os.environ.get("INTAKE_CRASH_SEED", "20210525"))
UNITS = ["chengzhong", "yufeng", "liunan", "liubei", "liujiang", "liucheng", "luzhai", "rongan", "rongshui"]
CAPTIONS = ["活动现场1", "活动现场2", "活动现场3"]
Figures = dict[str, Any]
PERSONAL = ["黄建国", "李秀梅", "莫小燕", "13907721234", "15878012345", "0772-2823290"]


# The contacts --------------------------------------------------------------------------------------


def org_name(contact: int, form: int) -> str:
    return f"柳州市第{contact + 1}号产业园第{form + 1}期"


def form_photos(contact: int, form: int) -> list[bytes]:
    return [photo_bytes(color=(contact * 12 % 256, form * 37 % 256, 40 + index * 60)) for index in range(3)]


def form_script(contact: int, form: int) -> list[str | bytes]:
    """One 示范点申报表 as its contact sends it, message by message: words, or a photo's bytes."""
    steps: list[str | bytes] = ["/new", "示范点申报表", org_name(contact, form), *SITE_ANSWERS[1:]]
    for index, photo in enumerate(form_photos(contact, form)):
        if index:
            steps.append("添加一张照片")
        steps += [photo, CAPTIONS[index]]
    return [*steps, "填写完毕，下一步", "确认提交"]


@dataclass
class Tally:
    """What the contacts saw, added up."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acknowledged: int = 0
    resent: int = 0
    server_errors: list[str] = field(default_factory=list)
    apologies: list[str] = field(default_factory=list)
    submitted: dict[int, dict[int, str]] = field(default_factory=dict)  # contact -> form -> org name
    session_ids: list[str] = field(default_factory=list)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


class Contact(threading.Thread):
    """One browser: signs in with an invite, then fills forms until ``stop`` is set (finishing the
    form it is on)."""

    def __init__(self, number: int, base: str, code: str, stop: threading.Event, tally: Tally) -> None:
        super().__init__(daemon=True)
        self.number, self.base, self.code, self.stop, self.tally = number, base, code, stop, tally
        self.random = random.Random(SEED + number)
        self.client = httpx.Client(base_url=base, headers={"Origin": base}, timeout=30)
        self.csrf = ""
        self.sequence = 0
        self.failure: BaseException | None = None

    def _send(self, build: Any) -> httpx.Response:
        """One message, sent again with the same id until the service answers it (not 503)."""
        self.sequence += 1
        message_id = f"c{self.number}-{self.sequence}"
        tries = 0
        while True:
            try:
                response: httpx.Response = build(message_id)
            except httpx.TransportError:
                response = None  # type: ignore[assignment]
            if response is not None and response.status_code != 503:
                if response.status_code >= 500:
                    self.tally.server_errors.append(f"{response.status_code} {response.text[:80]}")
                self.tally.add(acknowledged=1, resent=min(tries, 1))
                return response
            tries += 1
            time.sleep(0.2)

    def say(self, text: str) -> list[dict[str, Any]]:
        response = self._send(
            lambda message_id: self.client.post(
                "/api/messages",
                json={"text": text, "id": message_id},
                headers={"X-CSRF-Token": self.csrf},
            )
        )
        assert response.status_code == 200, response.text
        return list(response.json()["replies"])

    def photo(self, data: bytes) -> list[dict[str, Any]]:
        response = self._send(
            lambda message_id: self.client.post(
                "/api/upload",
                content=data,
                headers={"X-CSRF-Token": self.csrf, "Content-Type": "image/jpeg", "X-Message-Id": message_id},
            )
        )
        assert response.status_code == 200, response.text
        return list(response.json()["replies"])

    def sign_in(self) -> None:
        page = self.client.get(f"/join?code={self.code}")
        match = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
        assert match is not None
        [notice] = self.client.get("/api/join", params={"code": self.code}).json()["replies"]
        agreed = self.client.post(
            "/api/consent",
            json={"text": "1", "menu": notice["menu"]},
            headers={"X-CSRF-Token": match.group(1)},
        )
        assert agreed.status_code == 200 and agreed.json()["bound"], agreed.text
        self.csrf = agreed.json()["csrf"]
        self.tally.session_ids.append(self.client.cookies["intake_session"].rsplit(".", 1)[0])

    def run(self) -> None:
        try:
            form = 0
            while not self.stop.is_set():
                for content in form_script(self.number, form):
                    replies = self.photo(content) if isinstance(content, bytes) else self.say(content)
                    said = "\n".join(str(reply["text"]) for reply in replies)
                    if "出了点问题" in said:
                        self.tally.apologies.append(said[:80])
                    # Told it is in: submitted, or (the answer lost in a kill, the message sent again)
                    # received before.
                    if content == "确认提交" and ("已提交" in said or ALREADY_RECEIVED in said):
                        self.tally.submitted.setdefault(self.number, {})[form] = org_name(self.number, form)
                    time.sleep(self.random.uniform(0.0, 0.03))
                form += 1
        except BaseException as error:  # reported by the test
            self.failure = error
        finally:
            self.client.close()


# The service -----------------------------------------------------------------------------------------


class Service:
    """`intake run` as its own process, started again and again on one port and data folder."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.port = int(env["INTAKE_PORT"])
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as stream:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run"],
                env=self.env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=stream,
                stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text(encoding="utf-8", errors="replace")[-2000:]
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("intake run did not come up")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


def service_env(tmp_path: Path, database_url: str = "") -> dict[str, str]:
    env = {
        **os.environ,
        "INTAKE_DATA_DIR": str(tmp_path / "data"),
        "INTAKE_CAMPAIGN_FILE": str(current_campaign_file(tmp_path)),
        "INTAKE_PORT": str(free_port()),
        "INTAKE_LOG_LEVEL": "DEBUG",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("TELEGRAM_BOT_TOKEN", None)
    env.pop("INTAKE_DATABASE_URL", None)
    if database_url:
        env["INTAKE_DATABASE_URL"] = database_url
    return env


def prepared(env: dict[str, str]) -> tuple[Repository, list[str]]:
    """The migrated database with the campaign's units, and one invite per contact."""
    settings = Settings(
        data_dir=Path(env["INTAKE_DATA_DIR"]),
        campaign_file=Path(env["INTAKE_CAMPAIGN_FILE"]),
        database_url=env.get("INTAKE_DATABASE_URL", ""),
    )
    migrate(settings.resolved_database_url())
    declarations = load_declarations(settings)
    repository = open_repository(settings, declarations)
    codes = []
    for number in range(CONTACTS):
        unit = repository.unit_by_code(declarations.campaign.id, UNITS[number % len(UNITS)])
        assert unit is not None
        codes.append(issue_invite(repository, unit.id, role="contact", now=datetime.now(UTC)).code)
    return repository, codes


def expected_answers(tmp_path: Path) -> dict[str, Any]:
    """What one 示范点申报表 of the script stores, from a quiet run through the engine itself."""
    declarations = load_declarations(Settings(campaign_file=current_campaign_file(tmp_path)))
    url = f"sqlite:///{tmp_path / 'golden.db'}"
    migrate(url)
    repository = Repository(make_engine(url), tmp_path / "golden")
    campaign = declarations.campaign
    repository.sync_units(campaign.id, [(u.code, u.name, u.area, u.kind) for u in campaign.units])
    chat = Chat(assemble_engine(declarations, repository), unit_code="yufeng")
    for content in form_script(0, 0):
        if isinstance(content, bytes):
            chat.photo(content)
        else:
            chat.send(content)
    assert "已提交" in chat.text, chat.text
    [(_submission, version)] = repository.current_versions(campaign.id)
    repository.engine.dispose()
    return dict(version.answers)


def check_submissions(repository: Repository, tally: Tally, golden: dict[str, Any]) -> dict[str, int]:
    """Every form each contact saw submitted is there once, holding exactly what was typed."""
    versions = repository.current_versions("liuzhou-2021")
    by_name: dict[str, list[dict[str, Any]]] = {}
    for _submission, version in versions:
        by_name.setdefault(str(version.answers["org_name"]), []).append(dict(version.answers))
    seen = [name for names in tally.submitted.values() for name in names.values()]
    lost = duplicates = wrong = 0
    for contact, names in tally.submitted.items():
        for form, name in names.items():
            stored = by_name.get(name, [])
            lost += not stored
            duplicates += max(len(stored) - 1, 0)
            wanted = [hashlib.sha256(data).hexdigest() for data in form_photos(contact, form)]
            for answers in stored:
                photos = [row["photo"]["sha256"] for row in answers["photos"]]
                captions = [row.get("caption") for row in answers["photos"]]
                if _plain(answers) != _plain(golden) or photos != wanted or captions != CAPTIONS:
                    wrong += 1
    unexpected = len(versions) - len(seen)
    return {
        "forms": len(seen),
        "answers_lost": lost + wrong,
        "duplicates": duplicates + max(unexpected, 0),
    }


def _plain(answers: dict[str, Any]) -> dict[str, Any]:
    """A form's answers but the two its contact varies (the name, the photos)."""
    return {key: value for key, value in answers.items() if key not in ("org_name", "photos")}


def scan_log(log: Path, tally: Tally) -> dict[str, int]:
    text = log.read_text(encoding="utf-8", errors="replace")
    leaked = [secret for secret in [*PERSONAL, *tally.session_ids] if secret in text]
    assert not leaked, f"personal data in the log: {leaked[:3]}"
    return {
        "log_lines": text.count("\n"),
        "tracebacks": text.count("Traceback"),
        "outage_lines": text.count("database unavailable"),
    }


def contacts_running(base: str, codes: list[str], tally: Tally) -> tuple[list[Contact], threading.Event]:
    stop = threading.Event()
    contacts = [Contact(number, base, code, stop, tally) for number, code in enumerate(codes)]
    for contact in contacts:
        contact.sign_in()
    for contact in contacts:
        contact.start()
    return contacts, stop


def finish(contacts: list[Contact], stop: threading.Event) -> None:
    stop.set()
    for contact in contacts:
        contact.join(timeout=180)
        assert not contact.is_alive(), f"contact {contact.number} is stuck"
        if contact.failure is not None:
            raise contact.failure


# The tests ------------------------------------------------------------------------------------------


def under_fire(
    tmp_path: Path, trouble: Callable[[Service, random.Random], None], database_url: str = ""
) -> Figures:
    """The service with the contacts at work while ``trouble`` happens to it, then the count."""
    env = service_env(tmp_path, database_url)
    repository, codes = prepared(env)
    golden = expected_answers(tmp_path)
    service = Service(env, tmp_path / "service.log")
    tally = Tally()
    started = time.monotonic()
    service.start()
    contacts, stop = contacts_running(service.base, codes, tally)
    try:
        trouble(service, random.Random(SEED))
        time.sleep(1)
        finish(contacts, stop)
        health = httpx.get(service.base + "/healthz", timeout=5)
        assert health.status_code == 200, "the service is back by itself"
    finally:
        stop.set()
        service.stop()
    figures: Figures = {
        "contacts": CONTACTS,
        **check_submissions(repository, tally, golden),
        "messages": tally.acknowledged,
        "sent_again": tally.resent,
        "server_errors": len(tally.server_errors),
        "apologies": len(tally.apologies),
        **scan_log(tmp_path / "service.log", tally),
        "seconds": round(time.monotonic() - started, 1),
    }
    repository.engine.dispose()
    assert figures["answers_lost"] == 0 and figures["duplicates"] == 0, figures
    assert figures["server_errors"] == 0 and figures["apologies"] == 0, (tally.server_errors, tally.apologies)
    assert figures["tracebacks"] == 0, figures
    assert figures["sent_again"] > 0, "the trouble came while messages were in flight"
    return figures


def test_twenty_web_contacts_through_ten_kills_of_the_service(tmp_path: Path) -> None:
    def kills(service: Service, chance: random.Random) -> None:
        for _kill in range(KILLS):
            time.sleep(chance.uniform(0.3, 2.5))
            service.kill()
            service.start()

    figures = under_fire(tmp_path, kills)
    report_figures("web_kills", {"kills": KILLS, **figures})
    assert figures["forms"] >= CONTACTS, "every contact got at least one form through"


@pytest.fixture(name="cluster")
def cluster_fixture() -> Iterator[PrivateCluster]:
    if postgres_bin() is None:
        pytest.skip("PostgreSQL's server programs are not installed (Debian: postgresql)")
    cluster = PrivateCluster()
    cluster.start()
    yield cluster
    cluster.remove()


def test_twenty_web_contacts_through_five_restarts_of_postgresql(
    tmp_path: Path, cluster: PrivateCluster
) -> None:
    def restarts(_service: Service, chance: random.Random) -> None:
        for _restart in range(RESTARTS):
            time.sleep(chance.uniform(0.5, 2.0))
            cluster.restart(down_for=chance.uniform(0.5, 2.0))

    figures = under_fire(tmp_path, restarts, cluster.url)
    report_figures("postgres_restarts", {"restarts": RESTARTS, **figures})
    assert 1 <= figures["outage_lines"] <= RESTARTS, "one line per outage, not one per request"

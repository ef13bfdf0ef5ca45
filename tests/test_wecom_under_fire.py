"""The real `intake run` under ten 企业微信 members at once, SIGKILLed ten times at random moments and
started again each time.

Each member is WeCom as it behaves: every message (text, photo, a card's button) is encrypted, signed
and POSTed to the callback; one that gets no 200 — the connection refused, or reset by the kill — is
POSTed again with the same ``MsgId`` (WeCom tries three more times over about fifteen seconds; across
an outage of a second or two that amounts to "until it gets a 200"), then the member goes on. Each
binds with its unit's invite (taps 同意 on the notice's card), picks 登记表 from the list of forms and
fills it — the sample answers with a name and a phone of its own, two photos of its own — then taps
确认提交 on the review card and waits for the DOCX.

The kills come at random moments, each while a callback is under way when there is one; about half
(by the dice) the moment a message still being POSTed is in the inbox — before its 200 reached the
member, so that WeCom's resend finds it stored, the case a resend must not answer the next field with.

WeCom's per-member pace (``bot.wecom.MEMBER_RATE``: 0.26 messages a second after a burst of 3; kept
here, whatever ``INTAKE_WECOM_*`` the environment sets) spreads a 登记表's thirty-odd replies over
about two minutes, so a member reads only the replies it must act on (the notice's card, the list of
forms, the first question, the review card, the confirmation and the file) and types its answers a
person's pause apart without waiting for each question: the inbox handles a member's messages in
the order they were sent, as if it had waited.

Then, everything sent and handled:

* every member's 登记表 is submitted once (one submission, one version, no draft left open) holding
  exactly what a quiet run of the same messages through the engine stores: no answer lost, none
  applied twice or to the next field;
* the inbox holds one row per message sent (its ``MsgId``; a button press by its event), all done;
* each member received every reply queued for it (the outbox's rows, all sent) once — but for the
  ones a killed process had sent and not yet marked sent, which the outbox (at-least-once) sends again
  first thing after the restart: a repeat of the last deliveries before it, at most a member's burst;
  with those set aside, the sixteen questions came once each and in order, the submit confirmation
  once, the member's own DOCX once; no reply is the apology, no callback was answered but 200 or 503;
* the service's log (at DEBUG) holds no traceback, no ERROR, no group of messages rolled back (a
  message that failed) and none of the names, phones or user ids.

The figures go to ``INTAKE_CRASH_REPORT`` when set (docs/RELIABILITY.md is made from them).
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from docx import Document
from sqlmodel import Session, col, select

from bot.app import assemble_engine, load_declarations, open_repository
from bot.settings import Settings
from bot.wecom import MEMBER_BURST
from dialogs.invites import issue_invite
from dialogs.sample_answers import CADRE_ANSWERS
from storage.database import make_engine, migrate
from storage.models import InboxUpdate, OutboxMessage
from storage.repository import Repository
from tests.conftest import Chat, current_campaign_file, photo_bytes, report_figures
from tests.test_service_under_fire import Service, service_env
from tests.test_web_api import serving
from tests.test_wecom import wecom_env
from tests.wecom_fake.server import Delivery, FakeWeCom, Member

MEMBERS = 10
KILLS = int(os.environ.get("INTAKE_WECOM_KILLS", "10"))
SEED = int(os.environ.get("INTAKE_CRASH_SEED", "20210525"))
CAMPAIGN = "liuzhou-2021"
TASK = "cadres"  # 登记表: two a unit, so one member in each of ten units
UNITS = [
    "chengzhong",
    "yufeng",
    "liunan",
    "liubei",
    "liujiang",
    "liucheng",
    "luzhai",
    "rongan",
    "rongshui",
    "sanjiang",
]
NAMES = ["韦丽华", "覃美玲", "莫秀英", "黄春燕", "蓝桂芳", "廖晓梅", "梁玉兰", "吴海燕", "龙凤娇", "潘月琴"]
USERS = [
    "WeiLiHua",
    "QinMeiLing",
    "MoXiuYing",
    "HuangChunYan",
    "LanGuiFang",
    "LiaoXiaoMei",
    "LiangYuLan",
    "WuHaiYan",
    "LongFengJiao",
    "PanYueQin",
]
REVIEW_BUTTONS = ["确认提交", "修改", "放弃"]
SUBMITTED = "已提交《登记表》"
APOLOGY = "出了点问题"
REPLY_WAIT = 150.0  # seconds a member waits for a reply it must act on (the pace makes some take ~100 s)
CALLBACK_WAIT = 60.0  # seconds a member keeps sending one message again before the test gives up
MSG_ID = re.compile(r"<MsgId>(\d+)</MsgId>")
Figures = dict[str, Any]


# The members -----------------------------------------------------------------------------------------


def phone(number: int) -> str:
    return f"138 7721 23{number:02d}"


def answers(number: int) -> list[str]:
    """The 登记表 as member ``number`` types it: the sample answers with a name and a phone of its own."""
    typed = list(CADRE_ANSWERS)
    typed[0], typed[9] = NAMES[number], phone(number)
    return typed


def photos(number: int) -> list[bytes]:
    """The member's 证件照 and 工作照."""
    return [photo_bytes(color=(number * 23 % 256, 90 + index * 70, 40)) for index in range(2)]


@dataclass
class Tally:
    """What the members' callbacks met, added up; and the messages being POSTed right now."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acknowledged: int = 0
    sent_again: int = 0
    cut_off: int = 0
    timeouts: int = 0
    refusals: list[str] = field(default_factory=list)
    in_flight: dict[int, int] = field(default_factory=dict)  # MsgId (0: a button press) -> POSTs

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def flying(self, msg_id: int, change: int) -> None:
        with self.lock:
            self.in_flight[msg_id] = self.in_flight.get(msg_id, 0) + change
            if not self.in_flight[msg_id]:
                del self.in_flight[msg_id]

    def posting(self) -> set[int]:
        """The messages being POSTed now (0 for a button press)."""
        with self.lock:
            return set(self.in_flight)


@dataclass
class StubbornMember(Member):
    """A member whose WeCom sends a message again (the same MsgId; a new nonce and timestamp) until the
    callback answers 200; the MsgIds of what it sent, and how many button presses."""

    tally: Tally = field(default_factory=Tally)
    msg_ids: list[int] = field(default_factory=list)
    presses: int = 0

    def text(self, content: str, msg_id: int | None = None) -> int:
        sent = super().text(content, msg_id)
        self.msg_ids.append(sent)
        return sent

    def image(self, data: bytes, content_type: str = "image/jpeg") -> int:
        sent = super().image(data, content_type)
        self.msg_ids.append(sent)
        return sent

    def click(self, delivery: Delivery, number: int) -> str:
        code = super().click(delivery, number)
        self.presses += 1
        return code

    def post(self, plain_xml: str, *, tries: int = 0) -> httpx.Response:
        """POST until a 200 (``tries`` is ignored; CALLBACK_WAIT bounds it)."""
        deadline = time.monotonic() + CALLBACK_WAIT
        found = MSG_ID.search(plain_xml)
        msg_id = int(found.group(1)) if found else 0
        posts = 0
        while True:
            posts += 1
            self.tally.flying(msg_id, 1)
            try:
                answer: httpx.Response | None = self.post_once(plain_xml)
            except httpx.TimeoutException:  # WeCom waited its 5 s
                self.tally.add(timeouts=1)
                answer = None
            except httpx.ConnectError:  # refused: the service is down
                answer = None
            except httpx.TransportError:  # reset: the service died while it was being answered
                self.tally.add(cut_off=1)
                answer = None
            finally:
                self.tally.flying(msg_id, -1)
            if answer is not None and answer.status_code == 200:
                self.tally.add(acknowledged=1, sent_again=min(posts - 1, 1))
                return answer
            if answer is not None and answer.status_code != 503:
                with self.tally.lock:
                    self.tally.refusals.append(f"{answer.status_code} {answer.text[:80]}")
            assert time.monotonic() < deadline, f"the callback did not take a message in {CALLBACK_WAIT} s"
            time.sleep(0.2)


class MemberAtWork(threading.Thread):
    """One member: binds, fills the 登记表, taps 确认提交 and waits for its DOCX."""

    def __init__(self, number: int, member: StubbornMember, code: str) -> None:
        super().__init__(daemon=True)
        self.number, self.member, self.code = number, member, code
        self.random = random.Random(SEED + number)
        self.read = 0  # how many of its deliveries it has looked at
        self.failure: BaseException | None = None

    def wait_for(self, what: str, found: Callable[[Delivery], bool]) -> Delivery:
        """The first delivery after those read that ``found`` accepts (those before it read too)."""
        deadline = time.monotonic() + REPLY_WAIT
        while True:
            for delivery in self.member.wecom.to(self.member.user)[self.read :]:
                self.read += 1
                if found(delivery):
                    return delivery
            assert time.monotonic() < deadline, f"member {self.number} waited in vain for {what}"
            time.sleep(0.1)

    def think(self) -> None:
        time.sleep(self.random.uniform(0.5, 4.0))

    def run(self) -> None:
        member = self.member
        try:
            member.text(f"绑定 {self.code}")
            notice = self.wait_for(
                "the notice's card", lambda d: [b["text"] for b in d.buttons] == ["同意", "不同意"]
            )
            member.click(notice, 1)
            self.wait_for("感谢您的同意", lambda d: "感谢您的同意" in d.text)
            member.text("/new")
            listed = re.compile(r"(?m)^(\d+)\. 登记表")
            offer = self.wait_for(
                "the forms",
                lambda d: (
                    any(b["text"].startswith("登记表") for b in d.buttons) or bool(listed.search(d.text))
                ),
            )
            if offer.buttons:
                member.click(
                    offer, next(i for i, b in enumerate(offer.buttons, 1) if b["text"].startswith("登记表"))
                )
            else:
                match = listed.search(offer.text)
                assert match is not None
                member.text(match.group(1))
            self.wait_for("the first question", lambda d: "（1/" in d.text)
            for answer in answers(self.number):
                self.think()
                member.text(answer)
            for photo in photos(self.number):
                self.think()
                member.image(photo)
            review = self.wait_for(
                "the review card", lambda d: [b["text"] for b in d.buttons] == REVIEW_BUTTONS
            )
            member.click(review, 1)
            self.wait_for("the submit confirmation", lambda d: SUBMITTED in d.text)
            self.wait_for("the DOCX", lambda d: d.msgtype == "file")
        except BaseException as error:  # reported by the test
            self.failure = error


# The service and what it stored ---------------------------------------------------------------------


@dataclass
class Kills:
    """SIGKILLs at random moments, each while a callback is under way when there is one; about half the
    moment a message being POSTed is in the inbox, before its 200 has reached the member. Records when
    the service was started again after each (``time.monotonic``, the fake's clock too)."""

    repository: Repository
    tally: Tally
    restarts: list[float] = field(default_factory=list)
    after_storing: int = 0  # kills made once a message in flight was seen stored

    def run(self, service: Service, chance: random.Random) -> None:
        for _kill in range(KILLS):
            time.sleep(chance.uniform(1.5, 9.0))
            if chance.random() < 0.5:
                self.after_storing += self._wait_for_a_stored_message(timeout=5.0)
            else:
                self._wait_for_a_callback(timeout=3.0)
                time.sleep(chance.uniform(0.0, 0.1))
            service.kill()
            self.restarts.append(time.monotonic())  # the killed process sends nothing after this
            service.start()

    def _wait_for_a_callback(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.tally.posting() and time.monotonic() < deadline:
            time.sleep(0.001)

    def _wait_for_a_stored_message(self, timeout: float) -> bool:
        """Whether a message still being POSTed was seen in the inbox within ``timeout``."""
        deadline = time.monotonic() + timeout
        with self.repository.engine.connect() as connection:
            while time.monotonic() < deadline:
                posting = self.tally.posting() - {0}
                if posting:
                    query = select(InboxUpdate.update_id).where(
                        InboxUpdate.channel == "wecom", col(InboxUpdate.update_id).in_(posting)
                    )
                    stored = set(connection.execute(query).scalars())
                    connection.rollback()  # the next look sees what was committed since
                    if stored & self.tally.posting():
                        return True
                time.sleep(0.0005)
        return False


def prepared(env: dict[str, str]) -> tuple[Repository, list[str]]:
    """The migrated database with the campaign's units, and an invite for each member's unit."""
    settings = Settings(
        data_dir=Path(env["INTAKE_DATA_DIR"]), campaign_file=Path(env["INTAKE_CAMPAIGN_FILE"])
    )
    migrate(settings.resolved_database_url())
    declarations = load_declarations(settings)
    repository = open_repository(settings, declarations)
    codes = []
    for code in UNITS:
        unit = repository.unit_by_code(CAMPAIGN, code)
        assert unit is not None
        codes.append(issue_invite(repository, unit.id, role="contact", now=datetime.now(UTC)).code)
    return repository, codes


def expected_answers(tmp_path: Path) -> list[dict[str, Any]]:
    """What each member's 登记表 stores, from a quiet run of the same messages through the engine."""
    declarations = load_declarations(Settings(campaign_file=current_campaign_file(tmp_path)))
    url = f"sqlite:///{tmp_path / 'golden.db'}"
    migrate(url)
    repository = Repository(make_engine(url), tmp_path / "golden")
    campaign = declarations.campaign
    repository.sync_units(campaign.id, [(u.code, u.name, u.area, u.kind) for u in campaign.units])
    engine = assemble_engine(declarations, repository)
    golden = []
    for number in range(MEMBERS):
        chat = Chat(engine, unit_code=UNITS[number], user=USERS[number], channel="wecom")
        chat.send("/new")
        chat.send(str(next(i for i, o in enumerate(chat.options, 1) if o.startswith("登记表"))))
        for answer in answers(number):
            chat.send(answer)
        for photo in photos(number):
            chat.photo(photo)
        assert chat.options == tuple(REVIEW_BUTTONS), chat.text
        assert SUBMITTED in chat.send("确认提交"), chat.text
        unit = repository.unit_by_code(campaign.id, UNITS[number])
        assert unit is not None
        [(_submission, version)] = repository.current_versions(campaign.id, unit.id)
        golden.append(dict(version.answers))
    repository.engine.dispose()
    return golden


def settle(repository: Repository) -> None:
    """Wait until nothing of WeCom's waits in the service: every message handled, every reply sent."""
    deadline = time.monotonic() + 60
    later = datetime.now(UTC) + timedelta(days=1)
    while repository.pending_updates("wecom") or repository.due_messages("wecom", later):
        assert time.monotonic() < deadline, "the service did not settle"
        time.sleep(0.2)
    time.sleep(0.5)  # the last call's answer reaches the fake's record


def check_forms(repository: Repository, golden: list[dict[str, Any]]) -> dict[str, int]:
    """Each member's 登记表 submitted once, holding exactly what was typed: the forms, the answers lost
    (missing, or not as typed: in another field, say) and what is there twice (a submission, a version,
    a draft left open — a form begun twice)."""
    lost = duplicates = forms = 0
    for number, code in enumerate(UNITS):
        unit = repository.unit_by_code(CAMPAIGN, code)
        assert unit is not None and unit.id is not None
        submissions = repository.submissions(unit.id, TASK)
        versions = [v for submission in submissions for v in repository.versions(submission.id or 0)]
        forms += bool(submissions)
        duplicates += max(len(submissions) - 1, 0) + max(len(versions) - len(submissions), 0)
        duplicates += len(repository.drafts(unit.id))
        stored = dict(versions[0].answers) if versions else {}
        lost += sum(stored.get(key) != value for key, value in golden[number].items())
        lost += len(stored.keys() - golden[number].keys())
    return {"forms": forms, "answers_lost": lost, "duplicates": duplicates}


def check_inbox(repository: Repository, members: list[StubbornMember]) -> list[str]:
    """One inbox row per message a member sent (by its MsgId; a button press, which has none, by its
    event), every one handled: what is not so."""
    with Session(repository.engine) as session:
        rows = list(session.exec(select(InboxUpdate).where(InboxUpdate.channel == "wecom")))
    problems = []
    for member in members:
        mine = [row for row in rows if row.chat_key == member.user]
        ids = sorted(row.update_id for row in mine if row.update_id in member.msg_ids)
        if ids != sorted(member.msg_ids) or len(mine) != len(member.msg_ids) + member.presses:
            problems.append(
                f"{member.user}: {len(mine)} rows for {len(member.msg_ids)} MsgIds, {member.presses} presses"
            )
    if len(rows) != sum(len(member.msg_ids) + member.presses for member in members):
        problems.append(f"{len(rows)} rows in the inbox, not only the members' messages")
    problems += [f"update {row.update_id} is {row.status}" for row in rows if row.status != "done"]
    return problems


# The replies --------------------------------------------------------------------------------------------


def what_it_says(wecom: FakeWeCom, delivery: Delivery) -> tuple[str, ...]:
    """A delivery's content (a card's buttons with their keys; a file's name and bytes), not WeCom's ids."""
    if delivery.msgtype == "template_card":
        return ("card", *(f"{button['text']}|{button['key']}" for button in delivery.buttons))
    if delivery.msgtype == "file":
        media = wecom.media[delivery.body["file"]["media_id"]]
        return ("file", media.file_name, hashlib.sha256(media.data).hexdigest())
    return (delivery.msgtype, delivery.text)


def without_resends(
    wecom: FakeWeCom, deliveries: list[Delivery], restarts: list[float]
) -> tuple[list[Delivery], int]:
    """A member's deliveries but those the outbox sent again after a kill, and how many those were.

    The outbox marks what a pass sent after the pass (at-least-once); a process killed before that
    sends it again once started: the first deliveries after a restart repeat the last ones before it,
    at most the member's burst (what one pass sends one member)."""
    kept = list(deliveries)
    resent = 0
    for restart in restarts:
        before = [d for d in kept if d.at < restart]
        after = [d for d in kept if d.at >= restart]
        said_before = [what_it_says(wecom, d) for d in before]
        said_after = [what_it_says(wecom, d) for d in after]
        most = min(len(before), len(after), int(MEMBER_BURST))
        repeated = max((k for k in range(1, most + 1) if said_before[-k:] == said_after[:k]), default=0)
        kept = before + after[repeated:]
        resent += repeated
    return kept, resent


@dataclass
class Replies:
    """What one member received, against what the service queued for it."""

    delivered: int
    resent: int  # sent again after a kill
    lost: int  # queued, never delivered
    doubled: int  # delivered once more than queued, not after a kill
    problems: list[str]


def check_replies(
    wecom: FakeWeCom, repository: Repository, member: StubbornMember, name: str, restarts: list[float]
) -> Replies:
    """Every reply queued for the member delivered, each once but for a kill's resends: as many as the
    outbox holds, all marked sent; the sixteen questions once each and in order; the confirmation and
    the member's own DOCX once; no apology."""
    deliveries = wecom.to(member.user)
    kept, resent = without_resends(wecom, deliveries, restarts)
    with Session(repository.engine) as session:
        query = select(OutboxMessage).where(
            OutboxMessage.channel == "wecom", OutboxMessage.chat_key == member.user
        )
        queued = list(session.exec(query))
    problems = [f"{member.user}: reply {row.id} is {row.status}" for row in queued if row.status != "sent"]
    texts = [delivery.text for delivery in kept]
    questions = [int(number) for text in texts for number in re.findall(r"（(\d+)/16）", text)]
    if questions != list(range(1, 17)):
        problems.append(f"{member.user}: questions {questions}")
    problems += [f"{member.user}: {text[:60]}" for text in texts if APOLOGY in text]
    confirmations = sum(SUBMITTED in text for text in texts)
    documents = [delivery for delivery in kept if delivery.msgtype == "file"]
    if confirmations != 1 or len(documents) != 1:
        problems.append(f"{member.user}: {confirmations} confirmations, {len(documents)} DOCX")
    for document in documents:
        media = wecom.media[document.body["file"]["media_id"]]
        cells = [c.text for t in Document(io.BytesIO(media.data)).tables for r in t.rows for c in r.cells]
        names = {other for other in NAMES for cell in cells if other in cell}
        if "登记表" not in media.file_name or names != {name}:
            problems.append(f"{member.user}: a DOCX {media.file_name} with {sorted(names)}")
    return Replies(
        delivered=len(deliveries),
        resent=resent,
        lost=max(len(queued) - len(kept), 0),
        doubled=max(len(kept) - len(queued), 0),
        problems=problems,
    )


def scan_log(log: Path) -> dict[str, Any]:
    """The service's log: personal data in it, tracebacks, errors, messages that failed in their group."""
    text = log.read_text(encoding="utf-8", errors="replace")
    phones = [phone(number) for number in range(MEMBERS)]
    personal = [*NAMES, *USERS, *phones, *(number.replace(" ", "") for number in phones)]
    return {
        "leaked": [secret for secret in personal if secret in text],
        "already_stored": text.count("duplicate update"),  # WeCom's resend of a message stored before
        "log_lines": text.count("\n"),
        "tracebacks": text.count("Traceback"),
        "errors": len(re.findall(r"(?m)^\S+ \S+ (ERROR|CRITICAL) ", text)),
        "groups_rolled_back": text.count("rolled back"),
    }


# The test ------------------------------------------------------------------------------------------------


@pytest.fixture(name="wecom")
def wecom_fixture() -> Iterator[tuple[FakeWeCom, str]]:
    fake = FakeWeCom()
    with serving(fake.app()) as base:
        yield fake, base


def test_ten_wecom_members_through_kills_of_the_service(tmp_path: Path, wecom: tuple[FakeWeCom, str]) -> None:
    fake, base = wecom
    env = service_env(tmp_path)
    env.update(wecom_env(fake, base))
    for paced in [name for name in env if name.startswith("INTAKE_WECOM_")]:
        del env[paced]  # WeCom's own pace, whatever the environment says: the resends' bound is its burst
    repository, codes = prepared(env)
    golden = expected_answers(tmp_path)
    service = Service(env, tmp_path / "service.log")
    tally = Tally()
    kills = Kills(repository, tally)
    started = time.monotonic()
    service.start()
    url = service.base + "/wecom/callback"
    members = [StubbornMember(fake, url, USERS[number], tally=tally) for number in range(MEMBERS)]
    workers = [MemberAtWork(number, member, codes[number]) for number, member in enumerate(members)]
    try:
        for worker in workers:
            worker.start()
        kills.run(service, random.Random(SEED))
        for worker in workers:
            worker.join(timeout=REPLY_WAIT + CALLBACK_WAIT)
        settle(repository)
    finally:
        service.stop()
    failures = [f"member {w.number}: {w.failure or 'stuck'}" for w in workers if w.failure or w.is_alive()]
    replies = [check_replies(fake, repository, m, NAMES[n], kills.restarts) for n, m in enumerate(members)]
    inbox_problems = check_inbox(repository, members)
    log = scan_log(service.log)
    leaked = log.pop("leaked")
    figures: Figures = {
        "kills": KILLS,
        "members": MEMBERS,
        **check_forms(repository, golden),
        "messages": tally.acknowledged,
        "sent_again": tally.sent_again,
        "cut_off": tally.cut_off,
        "kills_after_storing": kills.after_storing,
        "timeouts": tally.timeouts,
        "refusals": len(tally.refusals),
        "replies": sum(r.delivered for r in replies),
        "replies_sent_again": sum(r.resent for r in replies),
        "replies_lost": sum(r.lost for r in replies),
        "replies_doubled": sum(r.doubled for r in replies),
        **log,
        "seconds": round(time.monotonic() - started, 1),
    }
    repository.engine.dispose()
    report_figures("wecom_kills", figures)
    assert figures["answers_lost"] == 0 and figures["duplicates"] == 0, figures
    assert figures["forms"] == MEMBERS, figures
    assert inbox_problems == [], inbox_problems
    assert figures["replies_lost"] == 0 and figures["replies_doubled"] == 0, figures
    assert [p for r in replies for p in r.problems] == [], "replies not as queued"
    assert figures["refusals"] == 0, tally.refusals
    assert not leaked, f"personal data in the log: {leaked[:3]}"
    assert figures["tracebacks"] == 0 and figures["errors"] == 0, figures
    assert figures["groups_rolled_back"] == 0, "a message failed in its group: the log names the error"
    assert failures == [], failures
    assert figures["sent_again"] > 0, "the kills came while callbacks were in flight"

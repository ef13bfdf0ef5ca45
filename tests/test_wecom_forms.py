"""The 课程推荐表 and the 示范点申报表 over 企业微信, end to end: the real ``intake run`` process, its
callback and the local fake of WeCom, as ``tests/test_wecom.py`` runs the 登记表 (whose fixtures and
helpers these tests share).

A member binds, picks the form from /new and fills it: two courses, each with its video sent as a WeCom
video message (an MP4 whose boxes say about five minutes, 1280×720), or a site with its three photos
sent as image messages and their captions. Choices come as a button card (up to six short options) or
as a numbered list answered with a number, and are answered by their label either way. The DOCX comes
back as a file message and is read back. A course video too short, or not an MP4, is refused in Chinese
and asked for again, with nothing of the course lost.

WeCom's per-member pace (``bot.wecom.MEMBER_RATE``: a burst of 3, then 0.26 messages a second) would
make one form take minutes; it is not what these tests are about (``tests/test_wecom.py`` covers the
pace and WeCom's 45009), so the service runs with that pace raised (``INTAKE_WECOM_MEMBER_RATE``),
unless ``INTAKE_WECOM_REAL_PACE=1``.
"""

from __future__ import annotations

import io
import os
import re
import struct
import time
import zipfile
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
import pytest
from docx import Document
from PIL import Image

from bot.wecom import SIGN_IN_PATH, SIGN_IN_START_PATH
from storage.repository import Repository
from tests.conftest import chinese_text, photo_bytes
from tests.test_mp4_probe import box, mp4
from tests.test_service_under_fire import Service
from tests.test_wecom import bind, callback_url, said, turn
from tests.test_wecom import service as service
from tests.test_wecom import wecom as wecom
from tests.wecom_fake.server import Delivery, FakeWeCom, Member

Running = tuple[Service, Repository, dict[str, str]]
REAL_PACE = os.environ.get("INTAKE_WECOM_REAL_PACE") == "1"


@pytest.fixture
def member_pace() -> dict[str, str]:
    """The service sends to each member as fast as the fake takes it (the ``service`` fixture of
    tests.test_wecom reads this), unless INTAKE_WECOM_REAL_PACE=1."""
    if REAL_PACE:
        return {}
    return {"INTAKE_WECOM_MEMBER_RATE": "50", "INTAKE_WECOM_MEMBER_BURST": "50"}


# Talking to the service ----------------------------------------------------------------------------


def offered(deliveries: list[Delivery]) -> tuple[str, list[str]]:
    """How the question a turn ended with offers its options — ``"card"`` (a button card) or
    ``"list"`` (a numbered list in the text) — and the options in order."""
    assert deliveries, "no answer"
    last = deliveries[-1]
    if last.buttons:
        return "card", [str(b["text"]) for b in last.buttons]
    numbered = re.findall(r"(?m)^(\d+)\. (.+)$", last.text)
    assert numbered and "请回复数字选择" in last.text, f"no options offered: {last.text!r}"
    assert [int(n) for n, _ in numbered] == list(range(1, len(numbered) + 1)), last.text
    return "list", [option for _, option in numbered]


def option_number(options: list[str], label: str) -> int:
    """The 1-based number of the option ``label`` names: itself, or the only one it begins."""
    if label in options:
        return options.index(label) + 1
    starting = [n for n, option in enumerate(options, 1) if option.startswith(label)]
    assert len(starting) == 1, f"{label!r} is not one of {options}"
    return starting[0]


def choose(
    fake: FakeWeCom,
    repository: Repository,
    member: Member,
    asked: list[Delivery],
    label: str,
    way: str | None = None,
) -> list[Delivery]:
    """Answer the choice a turn ended with by its option's label, whichever way it came: a card's
    button pressed, or a numbered list's number sent. ``way`` ("card" or "list"), when given, is how
    the question must have come."""
    came, options = offered(asked)
    if way is not None:
        assert came == way, f"asked as a {came}, not a {way}: {options}"
    number = option_number(options, label)
    if came == "card":
        card = asked[-1]
        return turn(fake, repository, member, lambda: member.click(card, number))
    return turn(fake, repository, member, lambda: member.text(str(number)))


def texts(deliveries: list[Delivery]) -> str:
    """Every text of a turn, in order (a long review comes split over several messages; a question's
    card holds the question)."""
    return "\n".join(d.text for d in deliveries if d.msgtype in ("text", "template_card"))


def answer(fake: FakeWeCom, repository: Repository, member: Member, words: str) -> list[Delivery]:
    return turn(fake, repository, member, lambda: member.text(words))


def start_form(
    fake: FakeWeCom, running: Running, member: Member, short_title: str
) -> tuple[Repository, list[Delivery]]:
    """Bind ``member`` as 鱼峰区妇联's contact and open ``short_title`` from /new (a numbered list:
    its options are long)."""
    service_process, repository, codes = running
    assert REAL_PACE or service_process.env.get("INTAKE_WECOM_MEMBER_RATE") == "50", "at the raised pace"
    assert "感谢您的同意" in texts(bind(fake, repository, member, codes["contact"]))
    menu = answer(fake, repository, member, "/new")
    return repository, choose(fake, repository, member, menu, short_title, way="list")


def send_video(member: Member, data: bytes, file_name: str, content_type: str) -> int:
    """A video message whose file WeCom serves with this name and type (``Member.video`` always says
    video.mp4, video/mp4)."""
    media_id = member.wecom.upload_media(data, "video", file_name, content_type)
    msg_id = member._msg_id()
    member.post(
        member._xml(
            "<MsgType><![CDATA[video]]></MsgType>"
            f"<MediaId><![CDATA[{media_id}]]></MediaId><ThumbMediaId><![CDATA[thumb]]></ThumbMediaId>"
            f"<MsgId>{msg_id}</MsgId>"
        )
    )
    return msg_id


def untroubled(running: Running) -> None:
    log = running[0].log.read_text(encoding="utf-8")
    assert "Traceback" not in log and "ERROR" not in log, log[-3000:]


def docx_file(fake: FakeWeCom, deliveries: list[Delivery], title: str) -> bytes:
    """The one file a turn brought, which must be the form's DOCX."""
    files = [d for d in deliveries if d.msgtype == "file"]
    assert len(files) == 1, [d.msgtype for d in deliveries]
    media = fake.media[files[0].body["file"]["media_id"]]
    assert media.file_name.endswith(".docx") and title in media.file_name, media.file_name
    return media.data


# 课程推荐表 ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Course:
    title: str
    teaching_form: str
    summary: str
    speaker: str
    birth: str
    printed_birth: str
    post: str
    seconds: int

    @property
    def video(self) -> bytes:
        return mp4(self.seconds, 1280, 720)


COURSES = (
    Course(
        "巧用妇女议事会化解邻里矛盾",
        "典型案例",
        "介绍村妇联如何通过妇女议事会收集群众反映的问题、组织协商、推动解决邻里矛盾，适合村（社区）妇联执委学习。",
        "覃美玲",
        "1982.07",
        "1982年7月",
        "鹿寨县中渡镇妇联主席",
        302,  # 5分02秒
    ),
    Course(
        "直播带货助农增收",
        "访谈",
        "访谈返乡创业女性，讲述妇联组织培训农村妇女开展电商直播、带动特色农产品销售、帮助姐妹增收致富的做法。",
        "韦丽华",
        "1985.3",
        "1985年3月",
        "柳江区拉堡镇妇联主席",
        287,  # 4分47秒
    ),
)
CONTACT_NAME_POST = "蓝芳 鱼峰区妇联组联部部长"
VIDEO_QUESTION = "如已制作课程视频，请发送视频"


def fill_course_up_to_its_video(
    fake: FakeWeCom,
    repository: Repository,
    member: Member,
    asked: list[Delivery],
    course: Course,
    number: int,
) -> list[Delivery]:
    """A course's fields answered one by one (授课形式 on its card); what asks for its video."""
    assert f"【推荐课程·第{number}节课程】请输入课程名称" in said(asked), texts(asked)
    asked = answer(fake, repository, member, course.title)
    assert "授课形式" in said(asked)
    asked = choose(fake, repository, member, asked, course.teaching_form, way="card")
    for words in (course.summary, course.speaker, course.birth, course.post):
        question = said(asked)
        asked = answer(fake, repository, member, words)
        assert said(asked) != question, texts(asked)
    assert f"【推荐课程·第{number}节课程】{VIDEO_QUESTION}" in said(asked), texts(asked)
    return asked


def course_answers(repository: Repository, member: Member) -> list[dict[str, Any]]:
    """The courses of the member's open draft, as stored."""
    contact = repository.contact("wecom", member.user)
    assert contact is not None and contact.current_draft_id is not None
    draft = repository.draft(contact.current_draft_id)
    assert draft is not None
    return list(draft.answers.get("courses", []))


def test_a_course_recommendation_with_two_videos_comes_back_as_its_docx(
    wecom: tuple[FakeWeCom, str], service: Running
) -> None:
    fake, _base = wecom
    member = Member(fake, callback_url(service[0]), "MoXiaoYan")
    repository, asked = start_form(fake, service, member, "课程推荐表")
    for number, course in enumerate(COURSES, 1):
        if number > 1:
            asked = choose(fake, repository, member, asked, "添加一节课程", way="card")
        asked = fill_course_up_to_its_video(fake, repository, member, asked, course, number)
        asked = turn(fake, repository, member, partial(member.video, course.video))
        listed = texts(asked)
        assert f"第{number}节课程《{course.title}》" in listed, listed
        assert "视频时长" not in listed and "无法读取" not in listed, "about five minutes, 720p: no note"
    asked = choose(fake, repository, member, asked, "填写完毕，下一步", way="card")
    assert "具体负责人的姓名及职务" in said(asked), texts(asked)
    asked = answer(fake, repository, member, CONTACT_NAME_POST)
    review = answer(fake, repository, member, "0772-2823290")

    shown = texts(review)
    first, second = (shown.index(f"第{n}节课程《{c.title}》") for n, c in enumerate(COURSES, 1))
    assert first < second, shown
    assert "课程视频：已上传视频（5分02秒）" in shown[first:second], shown
    assert "课程视频：已上传视频（4分47秒）" in shown[second:], shown
    assert offered(review) == ("card", ["确认提交", "修改", "放弃"])
    submitted = choose(fake, repository, member, review, "确认提交")
    assert "已提交《课程推荐表》" in texts(submitted), texts(submitted)

    document = Document(io.BytesIO(docx_file(fake, submitted, "课程推荐表")))
    rows = [[cell.text for cell in row.cells] for table in document.tables for row in table.rows]
    for course in COURSES:
        [row] = [row for row in rows if row[0] == course.title]
        assert row[1] == course.teaching_form and row[2] == course.summary, row
        assert row[3:] == [course.speaker, course.printed_birth, course.post], row
    lines = "\n".join(paragraph.text for paragraph in document.paragraphs)
    assert f"具体负责人姓名及职务：{CONTACT_NAME_POST}" in lines and "联系电话：0772-2823290" in lines

    contact = repository.contact("wecom", member.user)
    assert contact is not None and contact.unit_id is not None
    [submission] = repository.submissions(contact.unit_id, "courses")
    stored = repository.versions(submission.id or 0)[0].answers["courses"]
    for row, course in zip(stored, COURSES, strict=True):
        video = row["video"]
        assert (video["duration_s"], video["width"], video["height"]) == (course.seconds, 1280, 720)
    untroubled(service)


def test_a_course_video_sent_over_wecom_is_kept_with_the_course(
    wecom: tuple[FakeWeCom, str], service: Running
) -> None:
    fake, _base = wecom
    member = Member(fake, callback_url(service[0]), "WeiChunHua")
    repository, asked = start_form(fake, service, member, "课程推荐表")
    course = COURSES[0]
    asked = fill_course_up_to_its_video(fake, repository, member, asked, course, 1)
    accepted = turn(fake, repository, member, lambda: member.video(course.video))
    assert f"第1节课程《{course.title}》" in texts(accepted), texts(accepted)
    [row] = course_answers(repository, member)
    assert row["video"]["duration_s"] == course.seconds, "accepted"
    untroubled(service)
    kept = repository.file_path(str(row["video"].get("sha256")))
    assert kept is not None and kept.read_bytes() == course.video, "the video itself, from media/get"


def test_a_video_too_large_for_the_app_chat_is_sent_on_the_web_signed_in_through_wecom(
    wecom: tuple[FakeWeCom, str], service: Running
) -> None:
    """The video question carries a link; the member's WeCom opens it (OAuth2, snsapi_base) and the
    web chat is hers at once — no invite code, no second notice — at the question she was on. The
    video sent there answers it, kept by its hash, and the app chat goes on from the next question.
    A link that is not ours, a code used twice, or someone WeCom knows but no unit does: refused."""
    fake, _base = wecom
    running = service[0]
    member = Member(fake, callback_url(running), "TanXiuLan")
    repository, asked = start_form(fake, service, member, "课程推荐表")
    course = COURSES[0]
    asked = fill_course_up_to_its_video(fake, repository, member, asked, course, 1)
    [link] = re.findall(r"(http://\S+/wecom/signin/start)", said(asked))
    assert link == running.base + SIGN_IN_START_PATH, "this site's page, which binds it to the browser"

    browser = httpx.Client(cookies={"wecom_member": member.user}, follow_redirects=True, timeout=30)
    stranger = httpx.Client(cookies={"wecom_member": "NotBound"}, follow_redirects=True, timeout=30)
    with browser, stranger:
        signed_in_on_the_web(fake, repository, member, running, browser, stranger, link)
    untroubled(service)


def signed_in_on_the_web(
    fake: FakeWeCom,
    repository: Repository,
    member: Member,
    running: Service,
    browser: httpx.Client,
    stranger: httpx.Client,
    link: str,
) -> None:
    course = COURSES[0]
    page = browser.get(link)
    assert page.status_code == 200 and str(page.url.copy_with(fragment=None)) == running.base + "/", page.text
    [token] = re.findall(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    headers = {"Origin": running.base, "X-CSRF-Token": token}
    opened = browser.post(running.base + "/api/start", headers=headers, json={}).json()
    shown = " ".join(reply["text"] for reply in opened["replies"])
    assert VIDEO_QUESTION in shown and "告知" not in shown, "her own form, where she was; no notice again"
    upload = {**headers, "Content-Type": "video/mp4", "X-File-Name": "lesson.mp4", "X-Message-Id": "v1"}
    sent = browser.post(running.base + "/api/upload", headers=upload, content=course.video).json()
    assert f"第1节课程《{course.title}》" in " ".join(reply["text"] for reply in sent["replies"]), sent
    [row] = course_answers(repository, member)
    kept = repository.file_path(str(row["video"].get("sha256")))
    assert kept is not None and kept.read_bytes() == course.video, "kept by its hash, from the web"
    again = turn(fake, repository, member, lambda: member.text("/review"))
    assert f"第1节课程《{course.title}》" in texts(again), "the app chat sees what the web did"

    refused = stranger.get(link)
    assert refused.status_code == 403 and "还没有在企业微信里绑定单位" in refused.text
    forged = f"{running.base}{SIGN_IN_PATH}?code=made-up&state=1700000000.deadbeef"
    assert "链接已经失效" in browser.get(forged).text
    with httpx.Client(cookies={"wecom_member": member.user}, timeout=30) as other:
        to_wecom = other.get(link).headers["location"]
        assert "/connect/oauth2/authorize?" in to_wecom and "snsapi_base" in to_wecom
        back = other.get(to_wecom).headers["location"]
        assert other.get(back).status_code == 303, "the code, used once"
        assert other.get(back).status_code == 403, "the same code again"
    log = running.log.read_text(encoding="utf-8")
    assert member.user not in log and "NotBound" not in log


def test_a_course_video_too_short_is_refused_and_asked_for_again_with_nothing_lost(
    wecom: tuple[FakeWeCom, str], service: Running
) -> None:
    fake, _base = wecom
    member = Member(fake, callback_url(service[0]), "HuangMeiLing")
    repository, asked = start_form(fake, service, member, "课程推荐表")
    course = COURSES[0]
    asked = fill_course_up_to_its_video(fake, repository, member, asked, course, 1)
    [before] = course_answers(repository, member)

    refused = turn(fake, repository, member, lambda: member.video(mp4(30, 1280, 720)))
    assert "视频时长 30秒，方案要求 5 分钟左右" in texts(refused), texts(refused)
    assert f"【推荐课程·第1节课程】{VIDEO_QUESTION}" in said(refused), "the same field, asked again"
    assert course_answers(repository, member) == [before], "nothing stored, nothing lost"

    accepted = turn(fake, repository, member, lambda: member.video(course.video))
    assert f"第1节课程《{course.title}》" in texts(accepted), texts(accepted)
    [row] = course_answers(repository, member)
    assert {k: v for k, v in row.items() if k != "video"} == before
    assert row["video"]["duration_s"] == course.seconds
    untroubled(service)


def avi_bytes() -> bytes:
    """The opening of an AVI file (RIFF, no MP4 boxes at all): a video, but not an MP4."""
    header = b"AVI LIST" + struct.pack("<I", 4 + 64) + b"hdrlavih" + struct.pack("<I", 56) + bytes(56)
    movie = b"LIST" + struct.pack("<I", 4 + 256) + b"movi" + bytes(256)
    body = header + movie
    return b"RIFF" + struct.pack("<I", len(body)) + body


def mov_bytes(seconds: int, width: int, height: int) -> bytes:
    """A QuickTime movie (as an iPhone records one): the same boxes as an MP4, its ftyp brand ``qt``."""
    data = mp4(seconds, width, height)
    (ftyp_size,) = struct.unpack_from(">I", data)
    quicktime = box(b"ftyp", b"qt  \x00\x00\x02\x00qt  qt  qt  ")  # as long as the MP4's: offsets hold
    assert len(quicktime) == ftyp_size
    return quicktime + data[ftyp_size:]


@pytest.mark.parametrize(
    ("data", "file_name", "content_type"),
    [
        pytest.param(mov_bytes(302, 1280, 720), "clip.mov", "video/quicktime", id="quicktime"),
        pytest.param(avi_bytes(), "video.mp4", "video/mp4", id="no-mp4-boxes"),
    ],
)
def test_a_course_video_that_is_not_an_mp4_is_refused_and_asked_for_again(
    wecom: tuple[FakeWeCom, str], service: Running, data: bytes, file_name: str, content_type: str
) -> None:
    fake, _base = wecom
    member = Member(fake, callback_url(service[0]), "LiangYuZhen")
    repository, asked = start_form(fake, service, member, "课程推荐表")
    asked = fill_course_up_to_its_video(fake, repository, member, asked, COURSES[0], 1)
    [before] = course_answers(repository, member)

    refused = turn(fake, repository, member, lambda: send_video(member, data, file_name, content_type))
    assert "请上传 MP4 格式的视频" in texts(refused), texts(refused)
    assert f"【推荐课程·第1节课程】{VIDEO_QUESTION}" in said(refused), "the same field, asked again"
    assert course_answers(repository, member) == [before], "nothing stored, nothing lost"
    untroubled(service)


# 示范点申报表 -------------------------------------------------------------------------------------

ORG_NAME = "柳州市螺蛳粉产业园"
SITE_TEXT_ANSWERS = (  # (1/17) … (7/17)
    ORG_NAME,
    "120",
    "86",
    "黄建国",
    "13907721234",
    "李秀梅",
    "15878012345",
)
SITE_STATISTICS_ANSWERS = (  # (10/17) … (16/17)
    "柳州市螺蛳粉产业园妇女联合会",
    "莫小燕",
    "0772-2823290",
    "2",
    "9",
    "2021年4月18日",
    chinese_text(300),
)
#: The site's row of its unit's 统计表: 新建妇联组织名称, 执委人数, 副主席人数, 妇联主席姓名及电话, 创建时间.
STATISTICS_ROW = ["柳州市螺蛳粉产业园妇女联合会", "9", "2", "莫小燕 0772-2823290", "2021年4月18日"]
PHOTOS = (
    ((200, 40, 40), "园区妇联成立大会现场"),
    ((40, 160, 60), "妇女之家活动室"),
    ((40, 70, 200), "巾帼志愿服务队开展活动"),
)


def test_a_site_application_with_photos_sent_in_the_chat_comes_back_as_its_docx(
    wecom: tuple[FakeWeCom, str], service: Running
) -> None:
    fake, _base = wecom
    member = Member(fake, callback_url(service[0]), "LiXiuMei")
    repository, asked = start_form(fake, service, member, "示范点申报表")
    assert "（1/17）请输入申报单位名称" in said(asked), texts(asked)
    for words in SITE_TEXT_ANSWERS:
        asked = answer(fake, repository, member, words)
    assert "（8/17）示范点的组建方式" in said(asked), texts(asked)
    asked = choose(fake, repository, member, asked, "单独创建", way="card")
    assert "（9/17）示范点属于哪个领域或群体" in said(asked), texts(asked)
    asked = choose(fake, repository, member, asked, "园区", way="list")
    assert "（10/17）" in said(asked), texts(asked)
    for words in SITE_STATISTICS_ANSWERS:
        question = said(asked)
        asked = answer(fake, repository, member, words)
        assert said(asked) != question, texts(asked)

    for number, (color, caption) in enumerate(PHOTOS, 1):
        if number > 1:
            asked = choose(fake, repository, member, asked, "添加一张照片")
        assert f"【图片及说明·第{number}张照片】请发送一张示范点的照片" in said(asked), texts(asked)
        asked = turn(fake, repository, member, partial(member.image, photo_bytes(color=color)))
        assert f"【图片及说明·第{number}张照片】请为这张照片写一句说明" in said(asked), texts(asked)
        asked = answer(fake, repository, member, caption)
        assert f"第{number}张照片（{caption}）" in texts(asked), texts(asked)
    # Eight options now (add, edit and delete each photo, done): a numbered list.
    review = choose(fake, repository, member, asked, "填写完毕，下一步", way="list")
    assert "已填内容" in texts(review) and ORG_NAME in texts(review), texts(review)
    assert offered(review) == ("card", ["确认提交", "修改", "放弃"])
    submitted = choose(fake, repository, member, review, "确认提交")
    assert "已提交《示范点申报表》" in texts(submitted), texts(submitted)

    document = Document(io.BytesIO(docx_file(fake, submitted, "示范点申报表")))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    assert ORG_NAME in cells, "申报单位名称, as its own cell"
    for number, (_color, caption) in enumerate(PHOTOS, 1):
        [under] = [cell for cell in set(cells) if f"图{number}　{caption}" in cell]
        assert under.splitlines()[-1] == f"图{number}　{caption}", f"photo {number}'s caption under it"
    assert len(document.inline_shapes) == len(PHOTOS)
    images = [
        part.blob
        for part in document.part.package.iter_parts()
        if str(part.content_type).startswith("image/")
    ]
    seen = sorted(centre_colour(blob) for blob in images)
    sent = sorted(color for color, _caption in PHOTOS)
    assert len(seen) == len(sent) and all(close(a, b) for a, b in zip(seen, sent, strict=True)), (
        f"the photos sent, one each: {seen} vs {sent}"
    )

    # The 统计表 is made from the sites' answers: 组联部's /export holds 鱼峰区妇联's, with this site.
    boss = Member(fake, callback_url(service[0]), "ZuLianBu")
    bind(fake, repository, boss, service[2]["supervisor"])
    seen = len(fake.to(boss.user))
    assert "正在生成全部表格" in said(answer(fake, repository, boss, "/export")), "answered at once"
    deadline = time.monotonic() + 60  # then the service's export loop makes the ZIP and sends it
    while not [d for d in fake.to(boss.user)[seen:] if d.msgtype == "file"]:
        assert time.monotonic() < deadline, "the export never came"
        time.sleep(0.1)
    exported = fake.to(boss.user)[seen:]
    files = [d for d in exported if d.msgtype == "file"]
    assert len(files) == 1, texts(exported)
    media = fake.media[files[0].body["file"]["media_id"]]
    assert media.file_name.endswith(".zip"), media.file_name
    with zipfile.ZipFile(io.BytesIO(media.data)) as package:
        [name] = [n for n in package.namelist() if n.startswith("鱼峰区") and n.endswith("统计表.docx")]
        statistics = Document(io.BytesIO(package.read(name)))
    rows = [[cell.text for cell in row.cells] for table in statistics.tables for row in table.rows]
    assert ["1", *STATISTICS_ROW] in rows, rows
    untroubled(service)


def centre_colour(image: bytes) -> tuple[int, int, int]:
    with Image.open(io.BytesIO(image)) as opened:
        rgb = opened.convert("RGB")
        pixel = rgb.getpixel((rgb.width // 2, rgb.height // 2))
    assert isinstance(pixel, tuple) and len(pixel) == 3, pixel
    return int(pixel[0]), int(pixel[1]), int(pixel[2])


def close(seen: tuple[int, int, int], sent: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 8 for a, b in zip(seen, sent, strict=True))

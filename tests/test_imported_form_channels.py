"""A campaign made only of forms imported from their Word files (``tests/fixtures/imported_campaign``)
runs over every channel with no code for any of its forms: the console (``intake chat``), the web
chat's HTTP API, and 企业微信 against its local fake. Each walk goes back, keeps an answer with 跳过,
reviews and edits; 组联部 looks at a submission, returns it, accepts the one sent again and exports;
each filled form comes back as its own Word file, answers in the cells the blank form left for them.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from docx import Document

from bot.app import assemble_engine, load_declarations
from bot.settings import Settings
from bot.web import build_app
from dialogs.engine import DialogEngine
from renderers.word_grid import find_cell
from storage.repository import Repository
from tests.conftest import Chat, FakeClock, chinese_text, photo_bytes, sqlite_repository
from tests.fixtures.imported_campaign import imported_campaign
from tests.test_service_under_fire import Service, service_env
from tests.test_web_api import browser, post, press, say, serving, sign_in, texts, web_settings
from tests.test_wecom import bind, callback_url, said, turn, wecom_env, wecom_service
from tests.test_wecom import wecom as wecom
from tests.test_wecom_forms import answer, choose, docx_file, untroubled
from tests.test_wecom_forms import texts as wecom_texts
from tests.wecom_fake.server import FakeWeCom, Member

ROOT = Path(__file__).resolve().parent.parent
STORY = chinese_text(520)
CADRE = [
    *["柳州市鱼峰区", "韦丽华", "女", "1985.3", "壮族", "大学本科", "中共党员"],
    *["柳江区拉堡镇妇联主席", "柳州市柳江区拉堡镇柳堡路88号", "545100", "13877212345", STORY],
]


@pytest.fixture(name="imported_engine")
def imported_engine_fixture(
    sqlite_template: Path, tmp_path: Path, clock: FakeClock
) -> Iterator[DialogEngine]:
    declarations = load_declarations(Settings(campaign_file=imported_campaign(tmp_path / "campaign")))
    repository = sqlite_repository(sqlite_template, tmp_path, declarations)
    yield assemble_engine(declarations, repository, clock)
    repository.engine.dispose()


def submit_cadre(engine: DialogEngine, user: str, name: str) -> None:
    """A 登记表 of the imported form submitted by another contact of 鱼峰区妇联, through the engine."""
    chat = Chat(engine, unit_code="yufeng", user=user)
    chat.send("/new")
    chat.send(next(option for option in chat.options if option.startswith("登记表")))
    for words in CADRE:
        chat.send(name if words == "韦丽华" else words)
    assert "已提交《登记表》" in chat.send("确认提交"), chat.text


# The web chat ---------------------------------------------------------------------------------------


def test_an_imported_form_over_the_web_chat_then_looked_at_returned_accepted_and_exported(
    imported_engine: DialogEngine,
) -> None:
    engine = imported_engine
    with serving(build_app(engine, web_settings())) as server, browser(server) as client:
        csrf = sign_in(client, engine)
        started = post(client, csrf, "/api/start", {}).json()["replies"]
        replies = press(client, csrf, started, "登记表")
        assert "（1/12）请填写市" in texts(replies)
        for words in CADRE[:2]:
            replies = say(client, csrf, words)
        back = texts(say(client, csrf, "上一步"))  # back to 姓名 (the cover's is its answer), kept with 跳过
        assert "（2/12）请填写姓名" in back and "当前已填：韦丽华" in back, back
        replies = say(client, csrf, "跳过")
        assert "（3/12）请选择性别" in texts(replies), texts(replies)
        for words in CADRE[2:]:
            replies = say(client, csrf, words)
        assert "已填内容" in texts(replies) and "10. 邮编：545100" in texts(replies), texts(replies)
        replies = press(client, csrf, replies, "修改")
        assert "请选择要修改的项" in texts(replies), texts(replies)
        replies = press(client, csrf, replies, "邮编：545100")
        assert "请填写邮编" in texts(replies), texts(replies)
        replies = say(client, csrf, "545005")
        assert "10. 邮编：545005" in texts(replies), texts(replies)
        submitted = press(client, csrf, replies, "确认提交")
        assert "已提交《登记表》" in texts(submitted), texts(submitted)
        [document] = [reply["document"] for reply in submitted if reply.get("document")]
        filled = client.get(str(document["url"]))  # type: ignore[index]
        assert filled.status_code == 200
        table = Document(io.BytesIO(filled.content))
        assert find_cell(table, "T1R5C2").text == "545005" and find_cell(table, "T1R1C2").text == "韦丽华"

    with serving(build_app(engine, web_settings())) as server, browser(server) as boss:
        csrf = sign_in(boss, engine, None, "supervisor")
        shown = texts(say(boss, csrf, "查看1号"))
        assert "韦丽华" in shown and "545005" in shown, shown
        returned = texts(say(boss, csrf, "退回1号 请补全通讯地址的门牌号"))
        assert "已退回#1《登记表》" in returned, returned
        submit_cadre(engine, "yufeng-colleague", "覃小燕")
        accepted = texts(say(boss, csrf, "接收2号"))
        assert "#2" in accepted and "接收" in accepted, accepted
        [promised] = say(boss, csrf, "/export")
        assert "正在生成全部表格" in str(promised["text"])
        assert engine.run_export_jobs() == 1
        notices = post(boss, csrf, "/api/notices", {}).json()["notices"]
        [archive] = [notice["document"] for notice in notices if notice.get("document")]
        package = boss.get(str(archive["url"]))
        assert package.status_code == 200
        with zipfile.ZipFile(io.BytesIO(package.content)) as exported:
            names = [n for n in exported.namelist() if n.startswith("鱼峰区妇联/寻找最美基层妇联干部/")]
            printed = {Document(io.BytesIO(exported.read(n))).tables[0].rows[0].cells[1].text for n in names}
            assert printed == {"韦丽华", "覃小燕"}, names


# The console ----------------------------------------------------------------------------------------

INTAKE = [sys.executable, "-m", "bot.cli"]
COURSES = [
    [
        "巧用妇女议事会化解邻里矛盾",
        "典型案例",
        chinese_text(120),
        "覃美玲",
        "1982.07",
        "鹿寨县中渡镇妇联主席",
    ],
    ["直播带货助农增收", "访谈", chinese_text(90), "韦丽华", "1985.3", "柳江区拉堡镇妇联主席"],
]


def console(env: dict[str, str], lines: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*INTAKE, "chat", "--unit", "yufeng", "--user", "course-1"],
        input="".join(f"{line}\n" for line in lines),
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def numbered(stdout: str, label: str) -> str:
    """The number the console printed before the last option starting with ``label``."""
    found = re.findall(rf"(?m)^\[(\d+)\] {re.escape(label)}", stdout)
    assert found, (label, stdout[-2000:])
    return found[-1]


def test_an_imported_repeating_table_over_the_console(tmp_path: Path) -> None:
    campaign = imported_campaign(tmp_path / "campaign")
    env = {**os.environ, "INTAKE_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    env["INTAKE_CAMPAIGN_FILE"] = str(campaign)
    env.pop("INTAKE_DATABASE_URL", None)
    subprocess.run([*INTAKE, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    lines = ["/new", "2", *COURSES[0][:2], "上一步", "跳过", *COURSES[0][2:]]
    lines += ["添加一行", *COURSES[1], "填写完毕，下一步", "蓝芳 鱼峰区妇联组联部部长", "0772-2823290"]
    result = console(env, [*lines, "查看", "1"])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[2] 课程推荐表" in out and "已保留原来的授课形式" in out, out[-3000:]
    assert "第1行（巧用妇女议事会化解邻里矛盾）\n第2行（直播带货助农增收）" in out, "a row added"
    assert "已提交《课程推荐表》，编号 #1（第1版）" in out, out[-3000:]
    document = next(line for line in out.splitlines() if line.startswith("文件："))
    table = Document(document.removeprefix("文件：")).tables[0]
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    assert rows[2][:2] + rows[2][3:] == [*COURSES[0][:2], "覃美玲", "1982年7月", "鹿寨县中渡镇妇联主席"]
    assert rows[3][0] == COURSES[1][0] and rows[4] == [""] * 6, "the rows in order, the third left blank"
    lines = "\n".join(p.text for p in Document(document.removeprefix("文件：")).paragraphs)
    assert "推荐单位（盖章）：鱼峰区妇联" in lines, "filled from the unit, not asked"


# 企业微信 ---------------------------------------------------------------------------------------------

SITE = [
    "柳州市螺蛳粉产业园",
    "120",
    "86",
    "黄建国",
    "13907721234",
    "李秀梅",
    "15878012345",
    chinese_text(300),
]
PHOTOS = (
    ((200, 40, 40), "园区妇联成立大会现场"),
    ((40, 160, 60), "妇女之家活动室"),
    ((40, 70, 200), "志愿服务"),
)


@pytest.fixture(name="imported_service")
def imported_service_fixture(
    tmp_path: Path, wecom: tuple[FakeWeCom, str]
) -> Iterator[tuple[Service, Repository, dict[str, str]]]:
    """``intake run`` on the imported campaign, talking to the fake WeCom (members at a raised pace:
    ``tests/test_wecom.py`` covers WeCom's own)."""
    fake, base = wecom
    env = service_env(tmp_path)
    env["INTAKE_CAMPAIGN_FILE"] = str(imported_campaign(tmp_path / "campaign"))
    env.update(wecom_env(fake, base), INTAKE_WECOM_MEMBER_RATE="50", INTAKE_WECOM_MEMBER_BURST="50")
    env.update(WECOM_OAUTH_BASE_URL=base, INTAKE_WEB_URL=f"http://127.0.0.1:{env['INTAKE_PORT']}")
    env["INTAKE_LOG_LEVEL"] = "INFO"
    with wecom_service(env, tmp_path) as running:
        yield running


def test_an_imported_form_with_photos_over_wecom_comes_back_as_its_word_file(
    wecom: tuple[FakeWeCom, str], imported_service: tuple[Service, Repository, dict[str, str]]
) -> None:
    fake, _base = wecom
    running, repository, codes = imported_service
    member = Member(fake, callback_url(running), "LiXiuMei")
    assert "感谢您的同意" in wecom_texts(bind(fake, repository, member, codes["contact"]))
    menu = answer(fake, repository, member, "/new")
    asked = choose(fake, repository, member, menu, "2021年新领域建妇联示范点申报表")
    assert "（1/9）请填写申报单位名称" in said(asked), wecom_texts(asked)
    for words in SITE:
        asked = answer(fake, repository, member, words)
    assert "【图片及说明·第1张照片】" in said(asked), wecom_texts(asked)
    for number, (color, caption) in enumerate(PHOTOS, 1):
        if number > 1:
            asked = choose(fake, repository, member, asked, "添加一张照片")
        asked = turn(fake, repository, member, lambda color=color: member.image(photo_bytes(color=color)))
        assert "请为这张照片写一句说明" in said(asked), wecom_texts(asked)
        asked = answer(fake, repository, member, caption)
    review = choose(fake, repository, member, asked, "填写完毕，下一步")
    assert "已填内容" in wecom_texts(review) and "申报单位负责人手机号码：13907721234" in wecom_texts(review)
    submitted = choose(fake, repository, member, review, "确认提交")
    assert "已提交《2021年新领域建妇联示范点申报表》" in wecom_texts(submitted), wecom_texts(submitted)
    document = Document(io.BytesIO(docx_file(fake, submitted, "申报表")))
    assert find_cell(document, "T1R1C2").text == SITE[0] and find_cell(document, "T1R4C4").text == SITE[6]
    assert len(document.inline_shapes) == len(PHOTOS), "the photos after the table"
    lines = "\n".join(p.text for p in document.paragraphs)
    assert "填报单位：鱼峰区妇联" in lines and all(caption in lines for _, caption in PHOTOS), lines
    untroubled(imported_service)

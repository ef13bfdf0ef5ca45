"""Random walks through every form: whatever a person sends, in whatever state, the engine answers
sensibly — never the apology for an internal error — and the draft stays in a state of its machine."""

from __future__ import annotations

import random

import pytest

from dialogs.engine import DialogEngine
from tests.conftest import Chat, chinese_text
from tests.test_dialog_forms import start

GOOD_ANSWERS = {
    "name": "韦丽华",
    "gender": "女",
    "birth": "1985.3",
    "ethnicity": "壮族",
    "education": "大学本科",
    "political_status": "中共党员",
    "employer_post": "柳江区拉堡镇妇联主席",
    "address": "柳州市柳江区拉堡镇",
    "postcode": "545100",
    "phone": "13877212345",
    "cadre_level": "3",
    "service_start": "2018.6",
    "story": chinese_text(600),
    "web_story": chinese_text(300),
    "course_title": "妇女议事会",
    "teaching_form": "讲授",
    "summary": chinese_text(120),
    "speaker_name": "覃美玲",
    "speaker_birth": "1982.07",
    "speaker_post": "鹿寨县妇联主席",
    "video": "跳过",
    "contact_name_post": "蓝芳 部长",
    "contact_phone": "2823290",
    "org_name": "螺蛳粉产业园",
    "staff_count": "120",
    "female_count": "86",
    "leader_name": "黄建国",
    "leader_phone": "13907721234",
    "filler_name": "李秀梅",
    "filler_phone": "15878012345",
    "build_mode": "1",
    "domain": "园区",
    "federation_name": "产业园妇联",
    "chair_name": "莫小燕",
    "chair_phone": "13607724567",
    "vice_chair_count": "2",
    "committee_count": "9",
    "founded_on": "2021-04-18",
    "situation": chinese_text(300),
    "caption": "妇女之家活动室",
}
NOISE = [
    "上一步",
    "跳过",
    "查看",
    "修改",
    "放弃",
    "/help",
    "1",
    "2",
    "3",
    "9",
    "继续填写",
    "确认放弃",
    "填写完毕",
    "添加一节课程",
    "添加一张照片",
    "删除1",
    "修改第1张照片",
    "",
    "   ",
    "/drafts",
    "/new",
    "🙂" * 50,
    "'; DROP TABLE draft; --",
    "../../etc/passwd",
    "\u202e\u200b",
    "x" * 5000,
    "9" * 5000,  # more digits than int() parses
    "²",  # a digit to str.isdigit, not to int()
    "删除٣",
    "确认提交",
    "/reopen 1",
]
PHOTO_FIELDS = {"id_photo", "work_photo", "photo"}


@pytest.mark.parametrize("form_title", ["登记表", "课程推荐表", "示范点申报表"])
@pytest.mark.parametrize("seed", range(4))
def test_random_walks_never_hit_an_internal_error(engine: DialogEngine, form_title: str, seed: int) -> None:
    rng = random.Random(f"{form_title}-{seed}")
    chat = Chat(engine, user=f"walker-{seed}")
    start(chat, form_title)
    colors = iter((rng.randrange(256), rng.randrange(256), n % 256) for n in range(10_000))
    visited: set[str] = set()
    data_dir = str(engine.repository.data_dir)
    for _step in range(250):
        draft_id = chat.contact().current_draft_id
        state = engine.repository.draft(draft_id).state if draft_id else None
        key = state.split(".")[-1] if state else None
        if key in PHOTO_FIELDS and rng.random() < 0.7:
            reply = chat.photo(color=next(colors), caption=rng.choice(["", "活动现场"]))
        elif key in GOOD_ANSWERS and rng.random() < 0.6:
            reply = chat.send(GOOD_ANSWERS[key])
        elif state is None:
            start(chat, form_title)
            if "重新开始" in chat.options:  # an abandoned draft of the form is offered back: pick
                chat.send(rng.choice(chat.options))
            reply = chat.text
        else:
            reply = chat.send(rng.choice([*NOISE, *chat.options]))
        assert chat.replies, "every message gets a reply"
        assert "系统刚才出了点问题" not in reply, (state, reply)
        assert data_dir not in reply and "/submissions/" not in reply, "no server path reaches a person"
        draft_id = chat.contact().current_draft_id
        if draft_id is not None:
            draft = engine.repository.draft(draft_id)
            assert draft.state in engine.machines[draft.form_id].states
            visited.add(draft.state)
    form_id = {
        "登记表": "cadre_registration",
        "课程推荐表": "course_recommendation",
        "示范点申报表": "site_application",
    }
    input_states = set(engine.machines[form_id[form_title]].input_states)
    assert len(visited & input_states) >= len(input_states) / 2, "the walk explores most of the form"

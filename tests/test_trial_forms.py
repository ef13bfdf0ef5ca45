"""What a new contact found while filling forms: a returned form is offered for correction from 新建;
a photo at the review goes where it is missing; a second photo at a one-photo step is told about; an
abandoned draft is offered back when its form is started again."""

from __future__ import annotations

from dialogs.engine import DialogEngine
from tests.conftest import Chat, FakeClock
from tests.test_dialog_forms import fill_cadre
from tests.test_supervision import ask, supervisor


def test_新建_for_a_returned_form_offers_its_correction_with_the_reason(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    fill_cadre(chat, "韦丽华")
    fill_cadre(chat, "覃美玲")
    boss = supervisor(engine, clock)
    ask(engine, boss, "退回2号 工作照不清晰，请重新上传")
    chat.send("新建")
    task = next(option for option in chat.options if option.startswith("登记表"))
    assert "1份被退回待修改" in task
    said = chat.send(task)
    assert "已达到通知要求的数量" not in said
    assert "#2 登记表·覃美玲" in said and "工作照不清晰，请重新上传" in said
    assert chat.options == ("修改第2号",)
    assert chat.contact().current_draft_id is None, "no blank form started"
    reopened = chat.send("修改第2号")
    assert "退回的原因：工作照不清晰" in reopened
    assert chat.draft().submission_id == 2
    assert "鱼峰区妇联（联系人1名）：登记表（1份退回待改）" in ask(engine, boss, "未交"), (
        "组联部 sees the task outstanding, as the contact is told"
    )

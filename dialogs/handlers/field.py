"""A field asked: the answer checked by the field's validator (and against the answers whose rules name
it), stored, and the dialog moved on. Photos and videos arrive already checked (``received_files``);
a photo sent while another field of a photo group is asked starts a new row (an album)."""

from __future__ import annotations

from dataclasses import replace

from dialogs.commands import pick_action
from dialogs.declarations import FieldDecl, GroupDecl
from dialogs.draft_position import answers_for, current_field, cursor_of, group_of, photo_field, store_answer
from dialogs.exchange import IncomingFile, Reply
from dialogs.handlers.asking import ask
from dialogs.navigation import Spot, next_gap_after, next_in_group
from dialogs.received_files import check_photo, check_video
from dialogs.sent_files import is_named_mp4, wrong_file
from dialogs.turn import Turn
from dialogs.validators import (
    NOT_A_PHOTO,
    TEXT_VALIDATORS,
    Accepted,
    Rejected,
    ValidationContext,
    ValidationResult,
    cross_field_names,
)
from state_machines.form_machine import menu_state


def answer(turn: Turn, text: str, file: IncomingFile | None) -> None:
    """A message at a field: its answer, checked and stored, then the next question."""
    draft = turn.open_draft
    group, field_decl = current_field(turn.form, draft)
    if file is not None and group is not None and field_decl.kind != "photo" and photo_field(group):
        album_photo(turn, group, file)
        return
    result: ValidationResult
    if field_decl.kind == "photo":
        if file is None or file.kind != "photo" or file.data is None:
            turn.say(wrong_file("photo", field_decl.label, file))  # a video at 证件照: says so
            ask(turn)
            return
        result = _accept_photo(turn, file, group)
    elif field_decl.kind == "video":
        if file is None or file.kind == "photo" or (file.kind == "document" and not is_named_mp4(file)):
            turn.say(wrong_file("video", field_decl.label, file))
            ask(turn)
            return
        if file.kind == "video":
            result = file.checked or check_video(turn.store, file)
        else:  # an MP4 sent as a document: checked by its metadata, nothing stored
            result = check_video(turn.store, replace(file, data=None, checked=None))
    elif file is not None:
        turn.say(wrong_file("text", field_decl.label, file))
        ask(turn)
        return
    else:
        result = validate_text(turn, field_decl, group, text)
        if isinstance(result, Accepted):
            result = _with_dependents(turn, field_decl, group, result)
    if isinstance(result, Rejected):
        turn.replies.append(Reply(result.message, refuses_text=file is None))
        ask(turn)
        return
    store_answer(draft, group, field_decl.key, result.value)
    notes = [result.note] if result.note else []
    if (
        field_decl.kind == "photo"
        and file is not None
        and file.data is not None
        and text
        and group is not None
    ):
        notes += _caption_from_file(turn, group, field_decl, text)
    after_answer(turn, "advance", "\n".join(notes))


def after_answer(turn: Turn, trigger: str, note: str) -> None:
    """Move to where the dialog goes after an accepted answer (or a skip), and ask it."""
    draft = turn.open_draft
    cursor = turn.cursor
    editing = cursor.returns_to
    group = group_of(turn.form, draft) if cursor.group_key is not None else None
    if editing == "review":
        turn.go(trigger, None)
    elif group is not None and editing == "menu":
        turn.go(trigger, Spot(menu_state(group), cursor.row))
    elif group is not None:
        turn.go(trigger, next_in_group(group, draft.answers, cursor.row))
    else:
        order = turn.machine.input_states
        turn.go(trigger, next_gap_after(turn.form, order, draft.answers, draft.state))
    ask(turn, prefix=note)


def validate_text(turn: Turn, field_decl: FieldDecl, group: GroupDecl | None, text: str) -> ValidationResult:
    """A typed answer (or a choice's button) through the field's validator."""
    assert field_decl.validator is not None
    if field_decl.kind == "choice":
        choice = pick_action(text, [(option, option) for option in field_decl.choice_buttons])
        text = choice if choice is not None else text
    validator = TEXT_VALIDATORS[field_decl.validator]
    return validator(text, field_decl.params, _context(turn, field_decl, group))


def album_photo(turn: Turn, group: GroupDecl, file: IncomingFile) -> None:
    """A photo arriving while another field of the group is asked: a new row (photo albums)."""
    draft = turn.open_draft
    photo = photo_field(group)
    assert photo is not None
    if file.data is None:
        turn.say("请发送照片。")
        ask(turn)
        return
    rows = draft.answers.get(group.key, [])
    if len(rows) >= group.max_rows:
        turn.say(f"最多 {group.max_rows} {group.item}，这张没有保存。")
        ask(turn)
        return
    result = _accept_photo(turn, file, group)
    if isinstance(result, Rejected):
        turn.say(result.message)
        ask(turn)
        return
    index = len(rows)
    store_answer(draft, group, photo.key, result.value, row=index)
    draft.context = replace(cursor_of(draft), removed=None).context()  # a step since the deletion
    ask(turn, prefix=f"已收到第{index + 1}{group.item}。")


def _context(turn: Turn, field_decl: FieldDecl, group: GroupDecl | None) -> ValidationContext:
    draft = turn.open_draft
    task = turn.campaign.task(draft.task_id)
    answers = {**draft.answers, **answers_for(draft, group)}
    return ValidationContext(
        label=field_decl.label,
        today=turn.now.astimezone(turn.campaign.zone).date(),
        campaign_year=turn.campaign.year,
        deadline=task.deadline,
        answers=answers,
    )


def _with_dependents(
    turn: Turn, field_decl: FieldDecl, group: GroupDecl | None, accepted: Accepted
) -> ValidationResult:
    """An answer checked against the answers whose rules name it: 单位人数 changed to 50 while
    女性人数 says 86 is refused here, naming both, not at the submit."""
    form = turn.form
    fields = group.fields if group is not None else [s for s in form.steps if isinstance(s, FieldDecl)]
    answers = {**answers_for(turn.open_draft, group), field_decl.key: accepted.value}
    notes = [accepted.note] if accepted.note else []
    for other in fields:
        if other is field_decl or other.validator is None or answers.get(other.key) is None:
            continue
        if field_decl.key not in cross_field_names(other.params):
            continue
        context = replace(_context(turn, other, group), answers=answers)
        again = TEXT_VALIDATORS[other.validator](str(answers[other.key]), other.params, context)
        if isinstance(again, Rejected):
            return Rejected(
                f"{field_decl.label}填{accepted.value}，与已填的{other.label}不符：{again.message}\n"
                f"请重新填写{field_decl.label}；如果是{other.label}填错了，请先发送“跳过”，再修改{other.label}。"
            )
        notes += [again.note] if again.note else []  # a warning the change brings on (单独创建)
    return replace(accepted, note="\n".join(notes) or None)


def _accept_photo(turn: Turn, file: IncomingFile, group: GroupDecl | None) -> ValidationResult:
    """A photo's checks (made before the transaction, or now); within a group, the same photo twice
    is refused."""
    if file.kind != "photo" or file.data is None:
        return NOT_A_PHOTO
    result = file.checked or check_photo(turn.store, file.data)
    if isinstance(result, Rejected) or group is None:
        return result
    digest = result.value["sha256"]
    photo = photo_field(group)
    rows = turn.open_draft.answers.get(group.key, [])
    if photo is not None and any((row.get(photo.key) or {}).get("sha256") == digest for row in rows):
        return Rejected(f"这张照片已经上传过了（{group.label}里已有），请换一张。")
    return result


def _caption_from_file(turn: Turn, group: GroupDecl, photo: FieldDecl, caption: str) -> list[str]:
    """A photo sent with a caption also answers the row's next text field (the 说明)."""
    keys = [f.key for f in group.fields]
    following = group.fields[keys.index(photo.key) + 1] if keys.index(photo.key) + 1 < len(keys) else None
    if following is None or following.kind != "text":
        return []
    result = validate_text(turn, following, group, caption)
    if isinstance(result, Rejected):
        return [f"照片已收到，但说明未能采用：{result.message}"]
    store_answer(turn.open_draft, group, following.key, result.value)
    return []

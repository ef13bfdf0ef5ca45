"""One ``transitions`` machine per form, built once at start-up from the form's declaration.

The machine is the map of legal moves of a form's dialog: its states are stable strings stored in the
database (``name``, ``courses.course_title``, ``courses.menu``, ``review`` …) and its transitions say
which move may lead from which state to which. The dialog engine decides *where* to go (the next
unanswered field, the review, the field picked for editing) and asks the machine to make that move;
a move the machine does not allow is a programming error and raises.

Following the transitions FAQ, the machine is static: it is built with ``model=None`` and never holds
a conversation. Each move wraps the stored state in a throw-away ``Position`` object for the duration
of one trigger, so thousands of conversations cost nothing beyond their rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from transitions import EventData, Machine, MachineError

from dialogs.declarations import FieldDecl, FormDecl, GroupDecl

REVIEW = "review"
EDIT_PICK = "edit_pick"
CONFIRM_CANCEL = "confirm_cancel"
SUBMITTED = "submitted"
CANCELLED = "cancelled"

#: Triggers, with the Chinese name used in diagrams.
TRIGGER_LABELS: dict[str, str] = {
    "advance": "回答",
    "skip": "跳过",
    "back": "上一步",
    "add_row": "添加",
    "remove_row": "删除",
    "edit_row": "修改某行",
    "finish_group": "完成",
    "to_review": "查看",
    "edit": "修改",
    "pick": "选择要改的项",
    "resume": "继续填写",
    "submit": "确认提交",
    "cancel": "放弃",
    "keep": "继续填写",
    "discard": "确认放弃",
    "restore": "恢复草稿",
}


class IllegalMove(RuntimeError):
    """The engine asked for a move the form's machine does not allow (a bug, never user input)."""


def field_state(field_decl: FieldDecl, group: GroupDecl | None = None) -> str:
    return field_decl.key if group is None else f"{group.key}.{field_decl.key}"


def menu_state(group: GroupDecl) -> str:
    return f"{group.key}.menu"


@dataclass
class Position:
    """A conversation's state for the duration of one move (the machine's model)."""

    state: str
    target: str = ""

    def is_target(self, event: EventData) -> bool:
        """Condition shared by every transition: the engine's chosen destination is this one."""
        return event.transition is not None and event.transition.dest == self.target


@dataclass(frozen=True)
class Edge:
    trigger: str
    source: str
    dest: str


@dataclass
class FormMachine:
    """The legal moves of one form's dialog, as a ``transitions.Machine``."""

    form: FormDecl
    input_states: list[str] = field(init=False)
    states: list[str] = field(init=False)
    edges: list[Edge] = field(init=False)
    machine: Machine = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.input_states = list(_input_states(self.form))
        self.states = [*self.input_states, REVIEW, EDIT_PICK, CONFIRM_CANCEL, SUBMITTED, CANCELLED]
        self.edges = list(dict.fromkeys(_edges(self.form, self.input_states)))
        self.machine = Machine(
            model=None,
            states=self.states,
            transitions=[
                {"trigger": e.trigger, "source": e.source, "dest": e.dest, "conditions": "is_target"}
                for e in self.edges
            ],
            initial=self.input_states[0],
            auto_transitions=False,
            send_event=True,
        )

    def move(self, state: str, trigger: str, dest: str) -> str:
        """Make one move through the machine and return the new state; raise if it is not allowed."""
        position = Position(state=state, target=dest)
        event = self.machine.events.get(trigger)
        try:
            moved = event is not None and event.trigger(position)
        except MachineError:  # no transition of this trigger leaves ``state`` at all
            moved = False
        if not moved:
            raise IllegalMove(f"{self.form.id}: {trigger} from {state!r} to {dest!r} is not a legal move")
        return position.state


def _input_states(form: FormDecl) -> Iterable[str]:
    """States where the dialog waits for an answer, in the order the form asks them."""
    for step in form.steps:
        if isinstance(step, FieldDecl):
            yield field_state(step)
        else:
            for group_field in step.fields:
                yield field_state(group_field, step)
            yield menu_state(step)


def _group_of(form: FormDecl, state: str) -> GroupDecl | None:
    if "." not in state:
        return None
    return form.group(state.split(".", 1)[0])


def _is_optional(form: FormDecl, state: str) -> bool:
    group = _group_of(form, state)
    if state.endswith(".menu") and group is not None:
        return False
    key = state.split(".", 1)[-1]
    field_decl = group.field(key) if group is not None else form.top_field(key)
    return not field_decl.required


def _edges(form: FormDecl, order: list[str]) -> Iterable[Edge]:
    filling = [*order, REVIEW, EDIT_PICK]
    for index, state in enumerate(order):
        group = _group_of(form, state)
        later = [*order[index + 1 :], REVIEW]
        # Inside a group the dialog may go to any field of any row (a photo album fills several rows).
        own_group = [s for s in order if group is not None and s.startswith(f"{group.key}.")]
        forward = own_group + later
        if state.endswith(".menu") and group is not None:
            first_field = field_state(group.fields[0], group)
            yield Edge("add_row", state, first_field)
            yield Edge("remove_row", state, state)
            yield Edge("edit_row", state, EDIT_PICK)
            yield from (Edge("finish_group", state, dest) for dest in later)
            yield from (Edge("advance", state, dest) for dest in forward)  # a photo sent at the menu
        else:
            yield from (Edge("advance", state, dest) for dest in forward)
            if _is_optional(form, state):
                yield from (Edge("skip", state, dest) for dest in forward)
        yield from (Edge("back", state, dest) for dest in _back_targets(form, order, index))
        yield Edge("to_review", state, REVIEW)
    yield from (Edge("back", REVIEW, dest) for dest in order)  # back to where 查看 was sent from
    yield Edge("edit", REVIEW, EDIT_PICK)
    yield Edge("to_review", EDIT_PICK, REVIEW)
    yield from (Edge("pick", EDIT_PICK, dest) for dest in order)
    yield from (Edge("resume", REVIEW, dest) for dest in order)
    yield Edge("submit", REVIEW, SUBMITTED)
    for state in filling:
        yield Edge("cancel", state, CONFIRM_CANCEL)
        yield Edge("keep", CONFIRM_CANCEL, state)
        yield Edge("restore", CANCELLED, state)
    yield Edge("discard", CONFIRM_CANCEL, CANCELLED)


def _back_targets(form: FormDecl, order: list[str], index: int) -> list[str]:
    """Where 上一步 may lead from ``order[index]``."""
    state = order[index]
    group = _group_of(form, state)
    if group is not None and state == field_state(group.fields[0], group):
        # First field of a row: back to the group's menu when rows exist, else before the group.
        before = order[index - 1] if index > 0 else None
        return [menu_state(group), *([before] if before else [])]
    # Any other field goes to the one before it; a group's menu to the last field of the last row.
    return [order[index - 1]] if index > 0 else []


def build_machines(forms: dict[str, FormDecl]) -> dict[str, FormMachine]:
    """Build every form's machine once (at start-up)."""
    return {form_id: FormMachine(form) for form_id, form in forms.items()}

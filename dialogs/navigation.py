"""Where a draft goes next: pure functions of a form and its answers.

A ``Spot`` is a machine state plus, inside a repeating group, the row it is about. The engine asks
these functions for the destination and then makes the move through the form's machine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dialogs.declarations import FieldDecl, FormDecl, GroupDecl, Step
from state_machines.cursor import Cursor
from state_machines.form_machine import field_state, menu_state


@dataclass(frozen=True)
class Spot:
    state: str
    row: int = 0


def step_gap(step: Step, answers: Mapping[str, Any]) -> Spot | None:
    """Where a step still needs input, or None when it is complete.

    A field needs input until it has an answer (a skipped optional field has ``None``). A group needs
    its rows' missing fields first, then a first row when it has none, then more rows (its menu)
    until it has its minimum.
    """
    if isinstance(step, FieldDecl):
        return None if step.key in answers else Spot(field_state(step))
    rows: Sequence[Mapping[str, Any]] = answers.get(step.key, [])
    for index, row in enumerate(rows):
        missing = next((f for f in step.fields if f.key not in row), None)
        if missing is not None:
            return Spot(field_state(missing, step), index)
    if not rows:
        return Spot(field_state(step.fields[0], step), 0)
    if len(rows) < step.min_rows:
        return Spot(menu_state(step), len(rows) - 1)
    return None


def first_gap(form: FormDecl, answers: Mapping[str, Any]) -> Spot | None:
    """The first place in the form that still needs input; None when the form is complete."""
    return next((gap for step in form.steps if (gap := step_gap(step, answers)) is not None), None)


def next_gap_after(
    form: FormDecl, order: Sequence[str], answers: Mapping[str, Any], state: str
) -> Spot | None:
    """The first place after ``state`` (in the machine's order) that needs input; None means the review."""
    position = order.index(state) if state in order else -1
    for step in form.steps:
        gap = step_gap(step, answers)
        if gap is not None and order.index(gap.state) > position:
            return gap
    return None


def next_in_group(group: GroupDecl, answers: Mapping[str, Any], row: int) -> Spot:
    """After an answer in a group: the row's next missing field, else another row's, else the menu.

    Several rows can be incomplete at once when an album of photos arrives before their captions.
    """
    rows: Sequence[Mapping[str, Any]] = answers.get(group.key, [])
    for index in [row, *(i for i in range(len(rows)) if i != row)]:
        if index < len(rows):
            missing = next((f for f in group.fields if f.key not in rows[index]), None)
            if missing is not None:
                return Spot(field_state(missing, group), index)
    return Spot(menu_state(group), row)


def spot_label(form: FormDecl, spot: Spot) -> str:
    """What a spot asks, as the form names it: a field's label, or a group's for its list."""
    cursor = Cursor(spot.state)
    if cursor.group_key is None:
        return form.top_field(cursor.field_key).label
    group = form.group(cursor.group_key)
    return group.label if cursor.kind == "group_menu" else group.field(cursor.field_key).label

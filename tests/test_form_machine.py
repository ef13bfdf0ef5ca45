"""Each form's transitions machine: built once from its declaration, the map of legal moves."""

from __future__ import annotations

import pytest

from bot.app import Declarations
from state_machines.form_machine import CANCELLED, CONFIRM_CANCEL, REVIEW, SUBMITTED, IllegalMove


def test_every_field_is_a_state_in_the_declared_order(declarations: Declarations) -> None:
    machine = declarations.machines["course_recommendation"]
    assert machine.input_states == [
        "courses.course_title",
        "courses.teaching_form",
        "courses.summary",
        "courses.speaker_name",
        "courses.speaker_birth",
        "courses.speaker_post",
        "courses.video",
        "courses.menu",
        "contact_name_post",
        "contact_phone",
    ]
    assert machine.states[-5:] == [REVIEW, "edit_pick", CONFIRM_CANCEL, SUBMITTED, CANCELLED]
    assert len(declarations.machines["cadre_registration"].input_states) == 16


def test_legal_moves_happen_and_illegal_ones_raise(declarations: Declarations) -> None:
    machine = declarations.machines["cadre_registration"]
    assert machine.move("name", "advance", "gender") == "gender"
    assert machine.move("gender", "back", "name") == "name"
    assert machine.move(REVIEW, "submit", SUBMITTED) == SUBMITTED
    assert machine.move(CONFIRM_CANCEL, "keep", "story") == "story"
    with pytest.raises(IllegalMove):
        machine.move("name", "submit", SUBMITTED)  # only the review submits
    with pytest.raises(IllegalMove):
        machine.move("gender", "advance", "name")  # answering never goes backwards
    with pytest.raises(IllegalMove):
        machine.move("name", "back", "name")  # the first field has nowhere to go back to
    with pytest.raises(IllegalMove):
        machine.move("name", "skip", "gender")  # a required field cannot be skipped
    with pytest.raises(IllegalMove):
        machine.move(SUBMITTED, "cancel", CONFIRM_CANCEL)  # a submission is final


def test_only_optional_fields_have_a_skip_move(declarations: Declarations) -> None:
    machine = declarations.machines["course_recommendation"]
    skippable = {edge.source for edge in machine.edges if edge.trigger == "skip"}
    assert skippable == {"courses.video"}

"""The Mermaid diagrams in docs/ are generated from the declarations and must not go stale."""

from __future__ import annotations

from pathlib import Path

from bot.app import Declarations
from state_machines.diagrams import mermaid, write_diagrams

DOCS = Path(__file__).resolve().parent.parent / "docs" / "diagrams"


def test_committed_diagrams_match_the_declarations(declarations: Declarations) -> None:
    stale = write_diagrams(declarations.machines, DOCS, check=True)
    assert stale == [], "run `make diagrams` (intake diagrams) and commit docs/diagrams/"


def test_a_diagram_names_every_field_and_the_review(declarations: Declarations) -> None:
    machine = declarations.machines["site_application"]
    text = mermaid(machine)
    for field in machine.form.all_fields():
        assert f'"{field.label}"' in text
    assert "review --> submitted: 确认提交" in text
    assert "org_name --> staff_count: 回答" in text
    assert "photos__menu --> photos__photo: 添加" in text


def test_check_mode_reports_a_changed_page(declarations: Declarations, tmp_path: Path) -> None:
    assert len(write_diagrams(declarations.machines, tmp_path)) == 3
    assert write_diagrams(declarations.machines, tmp_path, check=True) == []
    page = tmp_path / "cadre_registration.md"
    page.write_text(page.read_text(encoding="utf-8") + "edited\n", encoding="utf-8")
    assert write_diagrams(declarations.machines, tmp_path, check=True) == [page]

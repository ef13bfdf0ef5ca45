"""Which renderer prints which form: one entry per form declaration, and the 统计表 of the forms that
have one. ``bot.app`` checks at start-up that every form a campaign collects is here."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from dialogs.declarations import FormDecl
from renderers.course_recommendation import render_course_recommendation
from renderers.records import FormRecord
from renderers.registration import render_registration
from renderers.site_application import render_site_application
from renderers.site_statistics import render_site_statistics
from renderers.word_template import template_renderer


@dataclass(frozen=True)
class Statistics:
    """A table over many records of one form: its printed name, and how it is rendered for a
    reporting unit (a unit's name, or the city's ``CITY_REPORTER``) on a date."""

    name: str
    render: Callable[[str, Sequence[FormRecord], date], bytes]


FORM_RENDERERS: dict[str, Callable[[FormRecord], bytes]] = {
    "cadre_registration": render_registration,
    "course_recommendation": render_course_recommendation,
    "site_application": render_site_application,
}
STATISTICS: dict[str, Statistics] = {
    "site_application": Statistics("新领域建妇联示范点统计表", render_site_statistics),
}
FORM_IDS = tuple(FORM_RENDERERS)


def form_renderers(forms: Mapping[str, FormDecl]) -> dict[str, Callable[[FormRecord], bytes]]:
    """The renderer of each form: the filler of the Word file it was imported from, else its Python
    renderer. A form imported beside a campaign under a shipped form's id replaces that declaration,
    whose Python renderer reads other answers; a form with neither is left out (the caller says so at
    start-up)."""
    renderers: dict[str, Callable[[FormRecord], bytes]] = {}
    for form_id, form in forms.items():
        if form.template:
            renderers[form_id] = template_renderer(form)
        elif form_id in FORM_RENDERERS:
            renderers[form_id] = FORM_RENDERERS[form_id]
    return renderers


CITY_REPORTER = "市妇联"

"""Which renderer prints which form: one entry per form declaration, and the 统计表 a form's
declaration says its records feed. ``bot.app`` checks at start-up that every form a campaign collects
is here, and that a form feeding a 统计表 asks what the table prints."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from dialogs.declarations import FormDecl
from renderers.course_recommendation import render_course_recommendation
from renderers.records import FormRecord
from renderers.registration import render_registration
from renderers.site_application import render_site_application
from renderers.site_statistics import SITE_STATISTICS_READS, render_site_statistics
from renderers.word_template import template_renderer


@dataclass(frozen=True)
class Statistics:
    """A table over many records of one form: its printed name, the top-level answers it prints (a
    form feeding it must ask each of them), and how it is rendered for a reporting unit (a unit's
    name, or the city's ``CITY_REPORTER``) on a date."""

    name: str
    reads: tuple[str, ...]
    render: Callable[[str, Sequence[FormRecord], date], bytes]


FORM_RENDERERS: dict[str, Callable[[FormRecord], bytes]] = {
    "cadre_registration": render_registration,
    "course_recommendation": render_course_recommendation,
    "site_application": render_site_application,
}
# By the name a form declaration gives in ``statistics``: a form feeds a table when it says so, never
# because of its id (a form imported under a shipped form's id feeds none).
STATISTICS: dict[str, Statistics] = {
    "site_statistics": Statistics("新领域建妇联示范点统计表", SITE_STATISTICS_READS, render_site_statistics),
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


def printable_forms(forms: Mapping[str, FormDecl]) -> dict[str, Callable[[FormRecord], bytes]]:
    """Each form's renderer (``form_renderers``), every form checked to feed only a 统计表 it can:
    what a campaign's forms are checked with at load (``dialogs.catalogue``'s ``printable``).

    Raises:
        OSError, ValueError: a Word template that cannot be used, or a 统计表 named wrongly.
    """
    renderers = form_renderers(forms)
    for form in forms.values():
        statistics_fed_by(form)
    return renderers


def statistics_fed_by(form: FormDecl) -> Statistics | None:
    """The 统计表 ``form``'s records feed, as its declaration says (None when it names none).

    Raises:
        ValueError: the declaration names a table that does not exist, or one printing an answer
            the form does not ask (checked at start-up, ``bot.app.load_declarations``).
    """
    if not form.statistics:
        return None
    statistics = STATISTICS.get(form.statistics)
    if statistics is None:
        raise ValueError(
            f'表单 {form.id} 写了 statistics = "{form.statistics}"，没有这张统计表：'
            f"只能写 {'、'.join(STATISTICS)} 之一，或删去这一行"
        )
    asked = {field.key for field in form.top_fields()}
    missing = [key for key in statistics.reads if key not in asked]
    if missing:
        raise ValueError(
            f'表单 {form.id} 写了 statistics = "{form.statistics}"（{statistics.name}），'
            f"但不问这张表要印的 {'、'.join(missing)}：请删去这一行，或在表单里加上这些问题"
        )
    return statistics


CITY_REPORTER = "市妇联"

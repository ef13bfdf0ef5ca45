"""Composition: load the declarations, build the machines, open storage, make the engine.

Channels (console, Telegram, web) get a ready ``DialogEngine`` from here and stay thin.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.settings import Settings
from dialogs.campaign import Campaign
from dialogs.catalogue import Catalogue, Notice, NoticeProblem, load_catalogue, load_notice_file
from dialogs.chinese_text import clean_text
from dialogs.declarations import DeclarationError, FormDecl
from dialogs.engine import Clock, DialogEngine, system_clock
from dialogs.export_jobs import Exporter, VideoExporter
from dialogs.exports import write_export, write_video_export
from dialogs.form_records import FormRecord
from dialogs.served_notices import ServedNotice, nearest
from dialogs.supervision import backfill_progress
from renderers import render_form
from renderers.export import export_zip, write_video_zip
from renderers.registry import form_renderers, printable_forms
from state_machines.form_machine import FormMachine, build_machines
from storage.data_folder import keep_private
from storage.database import check_migrated, make_engine
from storage.kept_text import repair_chat_lines
from storage.repository import Repository

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Declarations:
    """What is loaded once at start-up and shared by every conversation: the notice nearest its
    deadline (or the only one), and the other notices of the folder, each with its forms and machines."""

    campaign: Campaign
    forms: dict[str, FormDecl]
    machines: dict[str, FormMachine]
    # Prints a record as its official form: the shipped renderers, and the Word files of forms
    # imported beside the campaign (``renderers.registry.form_renderers``).
    render: Callable[[FormRecord], bytes] = render_form
    others: tuple[ServedNotice, ...] = ()


def load_declarations(settings: Settings, clock: Clock = system_clock) -> Declarations:
    """The notices of ``INTAKE_CAMPAIGNS_DIR`` (``dialogs.catalogue``), or only the one of
    ``INTAKE_CAMPAIGN_FILE`` when it is set: each notice's forms (``forms/`` beside it first, then the
    shipped ones), its units (listed, or picked from the roster), every form a task collects printable
    and feeding only a 统计表 it can. A broken file of the folder is left out and said in the log (the
    others are served); a broken single file, or a folder with no notice to serve, stops the start
    with what is wrong, in Chinese."""
    if "campaign_file" in settings.model_fields_set:
        catalogue = load_notice_file(settings.campaign_file, printable_forms)
        if catalogue.problems:
            raise DeclarationError("\n".join(problem.message for problem in catalogue.problems))
        where = f"{settings.campaign_file} 旁边"
    else:
        catalogue = _served_catalogue(load_catalogue(settings.campaigns_dir, printable_forms))
        where = f"通知目录 {settings.campaigns_dir} 里"
    forms = {form_id: form for notice in catalogue.notices for form_id, form in notice.forms.items()}
    try:
        renderers = form_renderers(forms)  # the forms no task collects too (intake render names any)
    except (OSError, ValueError) as error:
        raise DeclarationError(f"{where}的表单没法打印：{error}") from error

    def render(record: FormRecord) -> bytes:
        chosen = renderers.get(record.form_id)
        return chosen(record) if chosen is not None else render_form(record)

    served = [
        ServedNotice(n.campaign, dict(n.forms), build_machines(dict(n.forms))) for n in catalogue.notices
    ]
    first = nearest(served, clock())
    others = tuple(notice for notice in served if notice is not first)
    return Declarations(first.campaign, first.forms, first.machines, render=render, others=others)


def _served_catalogue(catalogue: Catalogue) -> Catalogue:
    """The folder's notices that one service can hold side by side, each file left out said in the
    log. Printing still goes by form id alone: a notice whose form has the id of another notice's,
    declared otherwise, is left out (until a record names its notice)."""
    problems = list(catalogue.problems)
    kept: list[Notice] = []
    seen: dict[str, tuple[FormDecl, str]] = {}
    for notice in catalogue.notices:
        clash = next(
            (
                (form_id, seen[form_id][1])
                for form_id, form in notice.forms.items()
                if form_id in seen and seen[form_id][0] != form
            ),
            None,
        )
        if clash is not None:
            form_id, other = clash
            problems.append(
                NoticeProblem(
                    notice.source,
                    f"{notice.source} 没有载入：它的表单 {form_id} 与 {other} 的同名表单不同。"
                    "同时进行的通知里，同名的表单须相同：请给其中一个表单换一个 id。",
                )
            )
            continue
        seen.update({form_id: (form, notice.source) for form_id, form in notice.forms.items()})
        kept.append(notice)
    for problem in problems:
        log.warning("notice left out: %s", problem.message)
    if not kept:
        raise DeclarationError("\n".join(problem.message for problem in problems) or "没有可用的通知。")
    return Catalogue(tuple(kept), tuple(problems))


def open_repository(settings: Settings, declarations: Declarations) -> Repository:
    """Open the migrated database, make sure it knows every notice's units and every submission counts."""
    engine = make_engine(settings.resolved_database_url())
    check_migrated(engine)
    repository = Repository(engine, settings.data_dir.resolve())
    if changed := keep_private(repository.data_dir):
        log.warning("%d files of the data folder were readable by other users: made private", changed)
    if repaired := repair_chat_lines(engine, lambda text: clean_text(text).text):
        log.warning("%d kept web chat lines held text that could not be saved: cleaned", repaired)
    if removed := repository.remove_stale_temporaries():
        log.warning("%d temporary files left by an interrupted write were removed", removed)
    for campaign in (declarations.campaign, *(notice.campaign for notice in declarations.others)):
        repository.sync_units(campaign.id, [(u.code, u.name, u.area, u.kind) for u in campaign.units])
        backfill_progress(repository, campaign)
    return repository


def campaign_exporter(declarations: Declarations, repository: Repository) -> Exporter:
    """组联部's export ZIP of a notice of this deployment (``/export``, ``intake export``); a form not
    printed yet is printed and kept on the way."""
    render = declarations.render
    return lambda campaign, forms, now: write_export(repository, campaign, forms, now, render, export_zip)


def campaign_video_exporter(declarations: Declarations, repository: Repository) -> VideoExporter:
    """The courses' videos' ZIP of a notice, made (or reused) apart from the forms' export."""
    return lambda campaign, forms, now: write_video_export(repository, campaign, forms, now, write_video_zip)


def assemble_engine(
    declarations: Declarations,
    repository: Repository,
    clock: Clock = system_clock,
    *,
    trial: bool = False,
    web_url: str = "",
) -> DialogEngine:
    """The engine over loaded declarations and an open repository (tests and benchmarks use it too)."""
    campaign, forms = declarations.campaign, declarations.forms
    return DialogEngine(
        trial=trial,
        render=declarations.render,
        campaign=campaign,
        forms=forms,
        machines=declarations.machines,
        repository=repository,
        clock=clock,
        exporter=campaign_exporter(declarations, repository),
        video_exporter=campaign_video_exporter(declarations, repository),
        web_url=web_url,
        others=declarations.others,
    )


@dataclass(frozen=True)
class Service:
    """An opened deployment, as the ``intake`` command works with it: the declarations, storage and
    the clock for its administration, the engine for the channels it serves."""

    declarations: Declarations
    repository: Repository
    engine: DialogEngine
    clock: Clock

    @property
    def campaign(self) -> Campaign:
        return self.declarations.campaign

    @property
    def forms(self) -> dict[str, FormDecl]:
        return self.declarations.forms


def open_service(
    settings: Settings,
    clock: Clock = system_clock,
    *,
    trial: bool = False,
    declarations: Declarations | None = None,
) -> Service:
    """The migrated database opened for the campaign of ``settings``, and the engine over it."""
    declarations = declarations or load_declarations(settings, clock)
    repository = open_repository(settings, declarations)
    engine = assemble_engine(declarations, repository, clock, trial=trial, web_url=settings.web_url)
    return Service(declarations, repository, engine, clock)


def build_engine(settings: Settings, clock: Clock = system_clock) -> DialogEngine:
    """The engine of an opened deployment (``open_service``), for a service that only serves."""
    return open_service(settings, clock).engine

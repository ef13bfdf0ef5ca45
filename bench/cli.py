"""``python -m bench [--quick] [--only SECTIONS] [--postgres URL | --no-postgres]``: one table.

Sections (``--only`` takes a comma-separated list; the default is all, in this order):

* ``pipeline`` — rows 1.x: the answer pipeline, ours, on SQLite (per stored-conversation count) and
  on PostgreSQL with one and two worker processes;
* ``statements`` — rows 1.7a–e: SQL statements and commits per message by kind (text, button, photo,
  确认提交, 组联部's 进度), on SQLite and on PostgreSQL: a figure that does not depend on the host;
* ``usual`` — rows 2.x: the pickle bots at the same stored counts, and the ratios to ours;
* ``render`` — rows 3.x: DOCX per form, the export ZIP, the export's workbook at region scale;
* ``region`` — rows 4.x: /status, /pending, a contact's /new, nudge planning, the dispatcher's pace;
* ``memory`` — rows 5.x: RSS with many stored conversations, ours and the pickle bot's;
* ``uploads`` — rows 5.3-5.4: the web chat's peak RSS while contacts send worst-case photos at once;
* ``videos`` — row 5.5: the same while contacts upload course videos (MP4s of 200 MB) at once;
* ``web`` — rows 6.x: the web chat under 50 and 200 browsers at once (msg/s, p50, p99), beside the
  Telegram pipeline's row 1.1 of the same run; and how soon 100 notices reach 50 open pages (row 6.4).

Progress goes to stderr; stdout gets the run conditions and the table (Markdown).

Longer than ~600 lines on purpose: the table's one list of rows, each with its target and the words
of its conditions, reads best in one place; the measuring lives in the section modules.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from bench import (
    imported_forms,
    pickle_bot,
    pipeline,
    rendering,
    statements,
    supervisor,
    uploads,
    web_chat,
    web_notices,
    wecom_members,
)
from bench.processes import run_workers
from bench.report import (
    Row,
    count,
    latency,
    load_average,
    machine_lines,
    ms,
    rate,
    ratio,
    render_table,
    seconds,
    verdict,
)
from bench.scenario import percentile, registration_script
from bench.setup_db import (
    DEFAULT_POSTGRES,
    postgres_database,
    postgres_reason,
    sqlite_database,
    sqlite_template,
)

SECTIONS = (
    *("pipeline", "statements", "usual", "render", "region"),
    *("memory", "uploads", "videos", "web", "wecom"),
)
FORM_NAMES = {
    "cadre_registration": "登记表",
    "course_recommendation": "课程推荐表",
    "site_application": "申报表 (12 photos)",
}


@dataclass(frozen=True)
class Sizes:
    chats: int  # chats in parallel in the pipeline and pickle runs
    stored: tuple[int, ...]  # stored conversations, per SQLite and pickle run
    history: int  # processed messages kept per stored conversation (inbox and outbox rows each)
    max_seconds: float  # a run stops after this long (the slow pickle runs)
    render_repeats: int
    export_items: int
    workbook_items: int
    region_units: int
    region_submissions: int
    memory_stored: int
    memory_active: int
    memory_messages: int
    pace_chats: int
    upload_contacts: int
    video_contacts: int
    video_mb: int
    web_browsers: tuple[int, ...]
    notice_browsers: int  # open pages holding their event stream
    notices: int
    wecom_members: int
    wecom_messages: int  # of the 登记表's 19: replies keep the member's pace, so a short run is short


FULL = Sizes(
    chats=100,
    stored=(100, 10_000, 100_000),
    history=10,
    max_seconds=45.0,
    render_repeats=30,
    export_items=1_000,
    workbook_items=100_000,
    region_units=16_000,
    region_submissions=100_000,
    memory_stored=100_000,
    memory_active=1_000,
    memory_messages=3,
    pace_chats=150,
    upload_contacts=10,
    video_contacts=4,
    video_mb=200,
    web_browsers=(50, 200),
    notice_browsers=50,
    notices=100,
    wecom_members=100,
    wecom_messages=19,
)
QUICK = Sizes(
    chats=6,
    stored=(100, 1_000),
    history=2,
    max_seconds=10.0,
    render_repeats=3,
    export_items=10,
    workbook_items=300,
    region_units=1_600,
    region_submissions=10_000,
    memory_stored=10_000,
    memory_active=100,
    memory_messages=3,
    pace_chats=30,
    upload_contacts=10,
    video_contacts=2,
    video_mb=20,
    web_browsers=(6, 12),
    notice_browsers=5,
    notices=20,
    wecom_members=4,
    wecom_messages=4,
)
MESSAGES = len(registration_script())


@dataclass
class Run:
    sizes: Sizes
    work: Path
    postgres: str | None
    postgres_skip: str
    rows: list[Row] = field(default_factory=list)
    ours: dict[int, pipeline.PipelineResult] = field(default_factory=dict)  # by stored count

    def directory(self, name: str) -> Path:
        path = self.work / name
        path.mkdir(parents=True, exist_ok=True)
        return path


def progress(text: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def by_kind(result: pipeline.PipelineResult) -> str:
    """p50 per kind of message: typed answers and commands, photos, and the submission."""
    script = registration_script()
    kinds: dict[str, list[float]] = {"text": [], "photo": [], "确认提交": []}
    for position, costs in result.by_position.items():
        step = script[position]
        kind = "photo" if step.photo else "确认提交" if step.text == "确认提交" else "text"
        kinds[kind] += costs
    parts = [f"{kind} {ms(percentile(costs, 0.5))}" for kind, costs in kinds.items() if costs]
    return "p50 by kind: " + ", ".join(parts) if parts else ""


def pipeline_conditions(result: pipeline.PipelineResult, database: str, stored: int, history: int) -> str:
    chats = f"{count(result.chats)} chats × {MESSAGES} msgs"
    done = f"{count(result.messages)} msgs in {seconds(result.seconds)}"
    return (
        f"{database} · {result.workers} process{'es' if result.workers > 1 else ''} · {chats} ({done}) · "
        f"{count(stored)} stored conversations (+{history} processed msgs each in inbox and outbox) · "
        f"{by_kind(result)}"
    )


def pipeline_row(row_id: str, label: str, result: pipeline.PipelineResult, conditions: str) -> Row:
    p50, p99 = percentile(result.costs_ms, 0.5), percentile(result.costs_ms, 0.99)
    sqlite_one = "SQLite" in label and result.workers == 1
    return Row(
        row_id,
        label,
        f"{rate(result.rate)} · {latency(result.costs_ms)}",
        "≥500 msg/s · p50 ≤3 ms · p99 ≤15 ms" if sqlite_one else "—",
        verdict(result.rate >= 500, p50 <= 3, p99 <= 15) if sqlite_one else "",
        conditions,
    )


# 1 — the answer pipeline ------------------------------------------------------------------------------


def section_pipeline(run: Run) -> None:
    sizes = run.sizes
    for index, stored in enumerate(sizes.stored, start=1):
        progress(f"pipeline: SQLite, 1 process, {stored:,} stored")
        folder = run.directory(f"pipeline-sqlite-{stored}")
        database = sqlite_database(folder)
        try:
            result = pipeline.run_pipeline(
                database,
                folder,
                workers=1,
                chats=sizes.chats,
                stored=stored,
                history=sizes.history,
                max_seconds=sizes.max_seconds * 4,
            )
        finally:
            database.drop()
        run.ours[stored] = result
        label = f"ours · SQLite · 1 process · {count(stored)} stored"
        conditions = pipeline_conditions(result, f"SQLite ({database.settings})", stored, sizes.history)
        run.rows.append(pipeline_row(f"1.{index}", label, result, conditions))

    results: dict[int, pipeline.PipelineResult] = {}
    stored = sizes.stored[0]
    for workers, row_id in ((1, "1.4"), (2, "1.5")):
        label = f"ours · PostgreSQL · {workers} process{'es' if workers > 1 else ''} · {count(stored)} stored"
        if run.postgres is None:
            run.rows.append(Row(row_id, label, f"skipped: {run.postgres_skip}"))
            continue
        progress(f"pipeline: PostgreSQL, {workers} process(es)")
        folder = run.directory(f"pipeline-postgres-{workers}")
        database = postgres_database(run.postgres)
        try:
            result = pipeline.run_pipeline(
                database,
                folder,
                workers=workers,
                chats=sizes.chats,
                stored=stored,
                history=sizes.history,
                max_seconds=sizes.max_seconds * 4,
            )
        finally:
            database.drop()
        results[workers] = result
        conditions = pipeline_conditions(result, f"PostgreSQL ({database.settings})", stored, sizes.history)
        if workers > 1:
            conditions += f" · split: {result.split}"
        run.rows.append(pipeline_row(row_id, label, result, conditions))
    label = "ours · PostgreSQL · 2 processes ÷ 1 process (msg/s)"
    if len(results) == 2:
        gain = results[2].rate / results[1].rate
        run.rows.append(Row("1.6", label, ratio(gain), "> 1×", verdict(gain > 1), "rows 1.5 ÷ 1.4, same run"))
    else:
        run.rows.append(Row("1.6", label, f"skipped: {run.postgres_skip}"))


def section_statements(run: Run) -> None:
    """Rows 1.7a–e: what one message of each kind sends to the database (the same at every size)."""
    progress("statements per message: SQLite")
    folder = run.directory("statements-sqlite")
    database = sqlite_database(folder)
    try:
        on_sqlite = statements.count_messages(database, folder)
    finally:
        database.drop()
    on_postgres = None
    if run.postgres is not None:
        progress("statements per message: PostgreSQL")
        folder = run.directory("statements-postgres")
        database = postgres_database(run.postgres)
        try:
            on_postgres = statements.count_messages(database, folder)
        finally:
            database.drop()
    run.rows += statements.rows(on_sqlite, on_postgres, run.postgres_skip)


# 2 — the usual way --------------------------------------------------------------------------------------


def _ours(run: Run, stored: int) -> pipeline.PipelineResult:
    if stored not in run.ours:
        progress(f"pipeline (for the ratios): SQLite, {stored:,} stored")
        folder = run.directory(f"pipeline-sqlite-{stored}")
        database = sqlite_database(folder)
        try:
            run.ours[stored] = pipeline.run_pipeline(
                database,
                folder,
                workers=1,
                chats=run.sizes.chats,
                stored=stored,
                history=run.sizes.history,
                max_seconds=run.sizes.max_seconds * 4,
            )
        finally:
            database.drop()
    return run.ours[stored]


def section_usual(run: Run) -> None:
    sizes = run.sizes
    for index, stored in enumerate(sizes.stored, start=1):
        found: dict[bool, pickle_bot.PickleResult] = {}
        for durable in (False, True):
            name = "durable" if durable else "default"
            progress(f"pickle bot ({name}), {stored:,} stored")
            found[durable] = result = pickle_bot.run_pickle_bot(
                run.directory(f"pickle-{name}-{stored}"),
                durable=durable,
                chats=sizes.chats,
                stored=stored,
                max_seconds=sizes.max_seconds,
            )
            if durable:
                saving = "saved after every update (update_persistence + flush, on_flush=True)"
            else:
                saving = (
                    "PicklePersistence defaults: saved every 60 s and on shutdown (not reached here); "
                    f"that save rewrites the file once per changed entry: {count(result.changed)}× here "
                    f"≈ {seconds(result.changed * result.save_ms / 1000)}"
                )
            stopped = " (stopped at the time limit)" if result.finished_chats < sizes.chats else ""
            conditions = (
                f"{saving} · one whole-file save {ms(result.save_ms)} ({result.pickle_mb:.1f} MB) · "
                f"start-up load {seconds(result.load_seconds)} · {count(sizes.chats)} chats, "
                f"{count(result.messages)} msgs in {seconds(result.seconds)}{stopped}"
            )
            label = f"pickle bot · {name} · {count(stored)} stored"
            run.rows.append(
                Row(
                    f"2.{index}{'b' if durable else 'a'}",
                    label,
                    f"{rate(result.rate)} · {latency(result.costs_ms)}",
                    conditions=conditions,
                )
            )
        ours = _ours(run, stored)
        over_default = ours.rate / found[False].rate
        over_durable = ours.rate / found[True].rate
        checked = stored >= 10_000
        run.rows.append(
            Row(
                f"2.{index}c",
                f"ours ÷ pickle bot · {count(stored)} stored (msg/s)",
                f"÷ default {ratio(over_default)} · ÷ durable {ratio(over_durable)}",
                "≥0.5× default · ≥10× durable (from 10,000)" if checked else "≥0.5× default",
                verdict(over_default >= 0.5, over_durable >= 10 if checked else None),
                f"row 1.{index} over rows 2.{index}a and 2.{index}b",
            )
        )
    small, large = sizes.stored[0], sizes.stored[-1]
    first, last = _ours(run, small), _ours(run, large)
    p50_first, p50_last = percentile(first.costs_ms, 0.5), percentile(last.costs_ms, 0.5)
    growth = p50_last / p50_first
    run.rows.append(
        Row(
            "2.4",
            f"ours · per-message p50, {count(large)} ÷ {count(small)} stored",
            f"{ms(p50_first)} → {ms(p50_last)} ({ratio(growth)}) · {rate(first.rate)} → {rate(last.rate)}",
            "flat (≤1.25×)",
            verdict(growth <= 1.25),
            f"rows 1.1 and 1.{len(sizes.stored)}",
        )
    )


# 3 — rendering -------------------------------------------------------------------------------------------


def section_render(run: Run) -> None:
    sizes = run.sizes
    photos = run.directory("render-photos")
    progress("render: DOCX per form")
    for index, result in enumerate(rendering.time_renders(photos, sizes.render_repeats), start=1):
        median = result.median
        run.rows.append(
            Row(
                f"3.{index}",
                f"DOCX · {FORM_NAMES.get(result.form_id, result.form_id)}",
                f"median {ms(median)} · p90 {ms(result.p90)}",
                "median ≤30 ms",
                verdict(median <= 30),
                f"renderers.samples record (maximum lengths) · {sizes.render_repeats} renders after a "
                f"first one ({ms(result.first_ms)}, photos prepared) · {result.size_kb:,.0f} KB",
            )
        )
    progress("render: a form imported from its Word file")
    imported = imported_forms.time_imported_form(sizes.render_repeats)
    run.rows.append(
        Row(
            "3.6",
            "import a two-page Word form (intake form import)",
            f"median {ms(imported.import_median)}",
            "≤200 ms",
            verdict(imported.import_median <= 200),
            f"docs/forms/blank/cadre_registration.docx ({imported.pages}, {imported.questions} questions) · "
            f"{len(imported.import_ms)} imports, read + declaration checked",
        )
    )
    run.rows.append(
        Row(
            "3.7",
            "DOCX · an imported form filled",
            f"median {ms(imported.fill_median)} · p90 {ms(imported.fill_p90)}",
            "median ≤30 ms",
            verdict(imported.fill_median <= 30),
            f"renderers.word_template.fill_word_form into the same 登记表 · every question answered · "
            f"template read once, as its renderer does at start-up · {len(imported.fill_ms)} fills",
        )
    )
    label = f"export ZIP · {count(sizes.export_items)} submissions"
    try:
        progress(f"render: export of {sizes.export_items:,} submissions")
        export = rendering.time_export(photos, sizes.export_items)
    except ImportError as error:
        run.rows.append(Row("3.4", label, f"skipped: renderers.export not usable ({error})"))
    else:
        per = export.seconds / export.items * 1000
        run.rows.append(
            Row(
                "3.4",
                label,
                f"{seconds(export.seconds)} ({ms(per)} per submission)",
                "≤60 s for 1,000",
                verdict(export.seconds * 1000 / export.items <= 60),
                f"renderers.export.build_export: every DOCX rendered, 统计表, 汇总.xlsx · samples at "
                f"maximum length · {export.size_mb:,.0f} MB ZIP",
            )
        )
    label = f"export workbook 汇总.xlsx · {count(sizes.workbook_items)} submissions"
    try:
        progress(f"render: workbook of {sizes.workbook_items:,} submissions")
        workbook = rendering.time_workbook(photos, sizes.workbook_items)
    except ImportError as error:
        run.rows.append(Row("3.5", label, f"skipped: renderers.export not usable ({error})"))
    else:
        run.rows.append(
            Row(
                "3.5",
                label,
                f"{seconds(workbook.seconds)} "
                f"({ms(workbook.seconds / workbook.items * 1000)} per submission)",
                "—",
                "",
                f"renderers.export.export_workbook alone (no DOCX) · {workbook.size_mb:,.1f} MB",
            )
        )


# 4 — the supervisor at region scale ---------------------------------------------------------------------


def section_region(run: Run) -> None:
    sizes = run.sizes
    folder = run.directory("region")
    database = sqlite_database(folder)
    try:
        progress(f"region: {sizes.region_units:,} units, {sizes.region_submissions:,} submissions")
        region = supervisor.build_region(
            database, folder / "data", sizes.region_units, sizes.region_submissions
        )
        scale = (
            f"SQLite · {count(region.units)} units · {count(region.submissions)} submissions "
            f"({', '.join(f'{task} {count(n)}' for task, n in region.per_task.items())}) · "
            f"{count(region.contacts)} contacts"
        )
        budget = 0.5 if sizes is QUICK else 20.0
        for row_id, label, chat, text in (
            ("4.1", "/status (组联部)", supervisor.SUPERVISOR_CHAT, "/status"),
            ("4.2", "/pending (组联部)", supervisor.SUPERVISOR_CHAT, "/pending"),
            ("4.3", "/new (a unit's contact)", supervisor.CONTACT_CHAT_BASE + 5, "/new"),
        ):
            progress(f"region: {text}")
            times = supervisor.repeat(supervisor.message(region, chat, text), budget, at_most=5)
            median = percentile(times, 0.5)
            characters, messages = region.replies[text]
            reply = f"reply {count(characters)} characters = {count(messages)} Telegram message(s)"
            run.rows.append(
                Row(
                    row_id,
                    label,
                    f"{ms(median)} (median of {len(times)})",
                    "≤100 ms" if row_id != "4.3" else "≤15 ms (p99 of a message)",
                    verdict(median <= (100 if row_id != "4.3" else 15)),
                    f"{scale} · DialogEngine.handle, the whole message with its commit · {reply}",
                )
            )
        progress("region: nudges")
        nudges = supervisor.time_nudges(region)
        region.engine.repository.engine.dispose()
        run.rows.append(
            Row(
                "4.4",
                "nudge planning · one deadline slot",
                f"{ms(nudges.first_ms)} · {count(nudges.queued)} reminders, "
                f"{count(nudges.messages)} messages",
                "≤1 s",
                verdict(nudges.first_ms <= 1000),
                f"send_due_nudges at 5月18日 09:00 (7 days before 5月25日) · {scale} · digest off",
            )
        )
        run.rows.append(
            Row(
                "4.5",
                "nudge planning · same slot a minute later",
                f"{ms(nudges.again_ms)} · 0 new",
                "≤1 s",
                verdict(nudges.again_ms <= 1000),
                "the service calls send_due_nudges every 60 s; the slot stays current for days",
            )
        )
    finally:
        database.drop()
    for row_id, talkative in (("4.6", 0), ("4.7", 6)):
        progress(f"region: dispatcher pace ({'one chat with 6 queued' if talkative else 'many chats'})")
        folder = run.directory(f"pace-{talkative}")
        database = sqlite_database(folder)
        try:
            pace = supervisor.dispatch_pace(database, folder / "data", sizes.pace_chats, 2, talkative)
        finally:
            database.drop()
        queued = f"2 each to {count(sizes.pace_chats)} chats ({count(pace.messages)} messages)"
        if not talkative:
            run.rows.append(
                Row(
                    row_id,
                    "outbox dispatch pace (default SendPacer)",
                    f"{pace.rate:.1f} msg/s · busiest 1-s window {pace.busiest_second}",
                    "≤30 msg/s, and not much slower",
                    verdict(pace.busiest_second <= 30, pace.rate >= 27),
                    f"queued: {queued} · TelegramChannel.send_due → Bot.send_message (stubbed)",
                )
            )
            continue
        ideal = max((pace.messages - 1) / 30, talkative - 3)  # 30/s overall; 1/s per chat after 3
        run.rows.append(
            Row(
                row_id,
                "outbox dispatch pace · one chat with 6 queued first",
                f"{pace.rate:.1f} msg/s · all sent in {seconds(pace.seconds)} "
                f"(the pace allows {seconds(ideal)}) · busiest chat {pace.busiest_chat_second} in 1 s",
                "≤1/s per chat after a burst of 3, others not held up",
                verdict(pace.busiest_chat_second <= 4, pace.seconds <= ideal * 1.15 + 0.2),
                f"queued: 6 to one chat first, then {queued} · same path",
            )
        )


# 5 — memory ------------------------------------------------------------------------------------------------


def section_memory(run: Run) -> None:
    sizes = run.sizes
    progress(f"memory: ours, {sizes.memory_stored:,} stored, {sizes.memory_active:,} active")
    folder = run.directory("memory-ours")
    database = sqlite_database(folder)
    try:
        ours = pipeline.run_pipeline(
            database,
            folder,
            workers=1,
            chats=sizes.memory_active,
            stored=sizes.memory_stored,
            history=0,
            script_length=sizes.memory_messages,
            max_seconds=sizes.max_seconds * 6,
        )
    finally:
        database.drop()
    scale = (
        f"{count(sizes.memory_stored)} stored conversations (drafts), {count(sizes.memory_active)} active "
        f"× {sizes.memory_messages} msgs"
    )
    run.rows.append(
        Row(
            "5.1",
            "ours · worker RSS",
            f"{ours.rss_mb:,.0f} MB (peak {ours.peak_rss_mb:,.0f} MB)",
            "≤200 MB",
            verdict(ours.peak_rss_mb <= 200),
            f"{scale} · SQLite · 1 process, after the run ({count(ours.messages)} msgs)",
        )
    )
    progress(f"memory: pickle bot, {sizes.memory_stored:,} stored")
    theirs = pickle_bot.run_pickle_bot(
        run.directory("memory-pickle"),
        durable=False,
        chats=sizes.memory_active,
        stored=sizes.memory_stored,
        script_length=sizes.memory_messages,
        max_seconds=sizes.max_seconds * 6,
    )
    run.rows.append(
        Row(
            "5.2",
            "pickle bot · process RSS",
            f"{theirs.rss_mb:,.0f} MB (peak {theirs.peak_rss_mb:,.0f} MB)",
            "— (comparison)",
            "",
            f"{scale} · PicklePersistence holds every conversation in memory · "
            f"pickle {theirs.pickle_mb:,.0f} MB, loaded in {seconds(theirs.load_seconds)}",
        )
    )


def section_uploads(run: Run) -> None:
    """Rows 5.3-5.4: peak RSS of the web chat while every contact sends a worst-case photo at once."""
    contacts = run.sizes.upload_contacts
    for row_id, (width, height), kind in (
        ("5.3", (7_000, 7_000), "49 MP RGBA PNG, just under the pixel budget: accepted"),
        ("5.4", (9_400, 9_400), "88 MP RGBA PNG, just under Pillow's bomb limit: refused from its header"),
    ):
        progress(f"memory: {contacts} concurrent uploads of a {width}×{height} PNG")
        spec = uploads.UploadSpec(str(run.directory(f"uploads-{row_id}")), width, height, contacts)
        [result] = run_workers(uploads.run_uploads, [spec])
        run.rows.append(
            Row(
                row_id,
                f"web chat · peak RSS, {contacts} photos uploaded at once",
                f"{result.peak_rss_mb:,.0f} MB (before {result.before_mb:,.0f} MB) · "
                f"{result.accepted} accepted, {result.refused} refused in {seconds(result.seconds)}",
                "≤400 MB",
                verdict(result.peak_rss_mb <= 400),
                f"{kind} ({result.file_kb:,.0f} KB each) · POST /api/upload through bot.web.build_app "
                "(httpx ASGI transport) · each contact at the 登记表's 证件照 · SQLite · 1 process",
            )
        )


def section_video_uploads(run: Run) -> None:
    """Row 5.5: peak RSS of the web chat while contacts upload course videos at once."""
    contacts, megabytes = run.sizes.video_contacts, run.sizes.video_mb
    progress(f"memory: {contacts} concurrent uploads of a {megabytes} MB MP4")
    spec = uploads.VideoUploadSpec(str(run.directory("uploads-videos")), contacts, megabytes)
    [result] = run_workers(uploads.run_video_uploads, [spec])
    run.rows.append(
        Row(
            "5.5",
            f"web chat · peak RSS, {contacts} course videos uploaded at once",
            f"{result.peak_rss_mb:,.0f} MB (before {result.before_mb:,.0f} MB) · "
            f"{result.accepted} accepted, {result.refused} refused in {seconds(result.seconds)}",
            "≤400 MB",
            verdict(result.peak_rss_mb <= 400, result.refused == 0),
            f"MP4s of {megabytes} MB each, five minutes, 1280×720 (their boxes; zeros for media) · "
            "POST /api/upload through bot.web.build_app (httpx ASGI transport, the body streamed in 1 MB "
            "chunks) · each contact at the course's video question · SQLite · 1 process",
        )
    )


def section_web(run: Run) -> None:
    """Rows 6.x: the web chat under many browsers at once, and beside the Telegram pipeline."""
    results = {}
    for index, browsers in enumerate(run.sizes.web_browsers, start=1):
        progress(f"web chat: {browsers} browsers at once")
        spec = web_chat.WebSpec(str(run.directory(f"web-{browsers}")), browsers)
        [result] = run_workers(web_chat.run_web_chat, [spec])
        results[browsers] = result
        p50, p99 = percentile(result.latencies_ms, 0.5), percentile(result.latencies_ms, 0.99)
        slowest = max(result.by_position.items(), key=lambda item: percentile(item[1], 0.5))
        run.rows.append(
            Row(
                f"6.{index}",
                f"web chat · {count(browsers)} browsers at once",
                f"{rate(result.rate)} · {latency(result.latencies_ms)}",
                "p99 ≤10× p50 · no errors",
                verdict(p99 <= 10 * p50, result.errors == 0),
                f"bot.web.build_app through ASGI, SQLite (the product's pragmas) · {count(browsers)} "
                f"browsers × {MESSAGES} msgs ({count(result.messages)} in {seconds(result.seconds)}, "
                f"{result.errors} errors) · latency = request to answer, group commit's queue included · "
                f"slowest step: #{slowest[0] + 1} of the 登记表, p50 {ms(percentile(slowest[1], 0.5))} · "
                f"peak RSS {result.peak_rss_mb:,.0f} MB",
            )
        )
    ours = _ours(run, run.sizes.stored[0])
    best = max(results.values(), key=lambda result: result.rate)
    over = best.rate / ours.rate
    run.rows.append(
        Row(
            "6.3",
            "web chat ÷ Telegram pipeline (msg/s)",
            ratio(over),
            "≥0.9×",
            verdict(over >= 0.9),
            f"the better of rows 6.1-6.2 over row 1.1 ({rate(ours.rate)}), same run",
        )
    )
    browsers, notices = run.sizes.notice_browsers, run.sizes.notices
    progress(f"web chat: {notices} notices to {browsers} open pages")
    spec = web_notices.NoticesSpec(str(run.directory("web-notices")), browsers, notices)
    [pushed] = run_workers(web_notices.run_notices, [spec])
    run.rows.append(
        Row(
            "6.4",
            "web chat · a notice reaches the open page",
            latency(pushed.latencies_ms),
            "p99 ≤1 s · none lost",
            verdict(percentile(pushed.latencies_ms, 0.99) <= 1000, pushed.lost == 0),
            f"{count(notices)} notices, one every {ms(spec.spacing_s * 1000)}, each to one of "
            f"{count(browsers)} "
            f"pages holding GET /api/events (uvicorn on loopback, httpx) · queued from a thread outside the "
            f"server's loop, as another worker would · latency = before the queueing's commit to the event "
            f"read · {pushed.lost} lost · peak RSS {pushed.peak_rss_mb:,.0f} MB",
        )
    )


def section_wecom(run: Run) -> None:
    """Rows 7.x: 企业微信's callback under many members at once, and its replies at WeCom's pace."""
    members = run.sizes.wecom_members
    progress(f"企业微信: {members} members at once")
    messages = run.sizes.wecom_messages
    spec = wecom_members.MembersSpec(str(run.directory(f"wecom-{members}")), members, messages)
    [result] = run_workers(wecom_members.run_members, [spec])
    in_step = replace(
        spec, folder=str(run.directory(f"wecom-{members}-in-step")), in_step=True, settle_timeout_s=0.0
    )
    [worst] = run_workers(wecom_members.run_members, [in_step])
    setting = (
        "bot.web.build_app with the 企业微信 channel, through ASGI, SQLite · encrypted and signed as WeCom "
        "sends them · the channel's loop (inbox → engine → outbox → the fake WeCom over HTTP) in the same "
        "event loop"
    )
    for number, measured, pace, target, limit_ms in (
        ("7.1", result, "each pause 0.25–0.75 s, starts spread over 0.5 s", "p99 ≤50 ms", 50),
        ("7.1b", worst, "all in step: every 0.5 s all at once", "p99 ≤1 s (WeCom resends after 5 s)", 1000),
    ):
        run.rows.append(
            Row(
                number,
                f"企业微信 · callback answered, {count(members)} members at once"
                + ("" if measured is result else ", in step"),
                latency(measured.latencies_ms),
                f"{target} · no errors",
                verdict(percentile(measured.latencies_ms, 0.99) <= limit_ms, measured.errors == 0),
                f"{count(members)} members × {messages} msgs ({count(measured.callbacks)} callbacks in "
                f"{seconds(measured.seconds)}, {pace}, {measured.errors} errors) · {setting}",
            )
        )
    run.rows.append(
        Row(
            "7.2",
            "企业微信 · replies at WeCom's per-member pace",
            f"busiest member minute {result.busiest_minute} replies · {count(result.replies)} replies, "
            f"the last {seconds(result.replied_after_s)} after the first message · {result.unanswered} left",
            "≤30 a minute per member · none left",
            verdict(result.busiest_minute <= 30, result.unanswered == 0, result.replies > 0),
            f"SendPacer 0.26/s, burst 3 per member (WeCom drops beyond 30/min, 1,000/h) · peak RSS "
            f"{result.peak_rss_mb:,.0f} MB",
        )
    )


RUNNERS: dict[str, Callable[[Run], None]] = {
    "pipeline": section_pipeline,
    "statements": section_statements,
    "usual": section_usual,
    "render": section_render,
    "region": section_region,
    "memory": section_memory,
    "uploads": section_uploads,
    "videos": section_video_uploads,
    "web": section_web,
    "wecom": section_wecom,
}


def run_sections(run: Run, sections: list[str]) -> None:
    for section in sections:
        RUNNERS[section](run)


def row_order(row: Row) -> tuple[int, int, str]:
    major, _, minor = row.id.partition(".")
    digits = "".join(ch for ch in minor if ch.isdigit())
    return int(major), int(digits or 0), minor.removeprefix(digits)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="fulian-intake benchmarks (issue 8): one table, each row with its conditions",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, same code paths (CI)")
    parser.add_argument("--only", default="", help=f"comma-separated sections of: {', '.join(SECTIONS)}")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("INTAKE_BENCH_POSTGRES_URL")
        or os.environ.get("INTAKE_TEST_POSTGRES_URL")
        or DEFAULT_POSTGRES,
        help="a PostgreSQL URL; the benchmark creates and drops its own database next to it",
    )
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL rows")
    parser.add_argument("--work-dir", type=Path, help="where databases and files go (default: a temp dir)")
    parser.add_argument(
        "--jobs",
        type=int,
        help="2: run the render and region sections beside the others (default with --quick: "
        "figures then disturb each other, fine for checking the code paths, not for reading)",
    )
    args = parser.parse_args(argv)
    if args.jobs is None:
        args.jobs = 2 if args.quick else 1
    sections = [s.strip() for s in args.only.split(",") if s.strip()] or list(SECTIONS)
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)}")
    sizes = QUICK if args.quick else FULL
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="intake-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    postgres: str | None = None
    skip = "--no-postgres"
    if not args.no_postgres and ("pipeline" in sections or "statements" in sections):
        reason = postgres_reason(args.postgres)
        if reason is None:
            postgres, skip = args.postgres, ""
        else:
            skip = f"PostgreSQL unavailable ({reason})"
    run = Run(sizes, work, postgres, skip)
    sqlite_template(work)
    began, load_before = time.monotonic(), load_average()
    header = machine_lines(work)
    try:
        if args.jobs > 1:
            # Two groups at once: the workers' sections, and those that run in this process.
            alone = [section for section in sections if section in ("render", "region")]
            rest = [section for section in sections if section not in alone]
            with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
                futures = [pool.submit(run_sections, run, group) for group in (rest, alone) if group]
                for future in futures:
                    future.result()
        else:
            run_sections(run, sections)
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    elapsed = time.monotonic() - began
    mode = "quick" if args.quick else "full"
    command = " ".join(
        [
            "python -m bench",
            *(["--quick"] if args.quick else []),
            *(["--only", args.only] if args.only else []),
        ]
    )
    print(f"## fulian-intake benchmarks ({mode}) — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print()
    print(f"- command: `{command}` · took {seconds(elapsed)}")
    print(*header, sep="\n")
    print(f"- load average (1/5/15 min) before: {load_before} · after: {load_average()}")
    if args.jobs > 1:
        print("- sections ran two at a time (--jobs 2): the figures disturb each other")
    print("- ✓/✗: the issue's target met or missed; a cost per message is the time spent on that message")
    print()
    print(render_table(sorted(run.rows, key=row_order)))
    return 0

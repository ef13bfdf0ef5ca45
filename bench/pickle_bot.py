"""The usual way: a python-telegram-bot ``ConversationHandler`` bot with ``PicklePersistence``.

The same 登记表 questions in the same order (from ``dialogs/forms/cadre_registration.toml``), the same
validators (``dialogs.validators``, so the comparison is of the plumbing, not of the checks), photos
downloaded and kept under their sha256 (written, not fsynced, as such bots do), and at “确认提交”
the same DOCX rendered and sent. Answers live in ``context.user_data``, the state in the handler.

Two variants, fed the same message sequence as the pipeline:

* ``default`` — ``PicklePersistence(path)`` as documented: nothing is written while messages are
  handled; PTB saves every ``update_interval`` (60 s) and on shutdown, so a crash loses up to a minute
  of answers. With ``on_flush=False`` (the default) that save rewrites the whole file once per changed
  user and once per changed conversation. The run reports the time of one whole-file save.
* ``durable`` — saved after every update (``update_persistence()`` then ``flush()``, with
  ``on_flush=True`` so that is one rewrite per update, the cheapest durable setting): like ours, no
  accepted answer is lost when the process dies — though the pickle is not fsynced, so unlike ours it
  may still be lost with the machine.

Stored conversations are pre-written into the pickle: the same half-filled drafts as ours.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import os
import pickle
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.pipeline import ACTIVE_CHAT_BASE, CAMPAIGN_NOW, WARMUP_CHAT_BASE
from bench.processes import Start, memory_mb, run_workers
from bench.scenario import BOT_TOKEN, CADRE_STORED, FakeBotApi, FakeTelegram, Step, registration_script

CONVERSATION = "registration"
MENU, REVIEW = -2, -3


@dataclass(frozen=True)
class PickleSpec:
    pickle_path: str
    data_dir: str
    durable: bool
    chats: tuple[int, ...]
    warmup_chats: tuple[int, ...]
    script_length: int
    max_seconds: float


@dataclass
class PickleResult:
    messages: int
    seconds: float
    costs_ms: list[float]
    rss_mb: float
    peak_rss_mb: float
    load_seconds: float  # reading the pickle at start-up (Application.initialize)
    save_ms: float  # one whole-file save
    pickle_mb: float
    changed: int  # user_data and conversation entries changed during the run (PTB saves each)
    finished_chats: int
    api_calls: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else float("nan")


def write_stored(path: Path, stored: int) -> None:
    """A pickle in ``PicklePersistence``'s single-file layout holding ``stored`` half-filled drafts."""
    conversations: dict[tuple[int, int], object] = {}
    user_data: dict[int, dict[str, Any]] = {}
    for index in range(stored):
        chat = 5_000_000_000 + index
        filled = index % len(CADRE_STORED)
        conversations[(chat, chat)] = filled
        user_data[chat] = {"answers": dict(CADRE_STORED[:filled])}
    data = {
        "conversations": {CONVERSATION: conversations},
        "user_data": user_data,
        "chat_data": {},
        "bot_data": {},
        "callback_data": None,
    }
    with path.open("wb") as stream:
        pickle.dump(data, stream, protocol=pickle.HIGHEST_PROTOCOL)


def _application(spec: PickleSpec, telegram: FakeTelegram) -> tuple[Any, Any]:
    """The bot: a persistent ConversationHandler over the 登记表's fields."""
    from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
    from telegram.ext import (
        ApplicationBuilder,
        CommandHandler,
        ContextTypes,
        ConversationHandler,
        MessageHandler,
        PicklePersistence,
        filters,
    )

    from bot.app import load_declarations
    from bot.settings import Settings
    from dialogs.form_records import form_record
    from dialogs.validators import TEXT_VALIDATORS, Rejected, ValidationContext, validate_photo
    from renderers import render_form

    declarations = load_declarations(Settings())
    campaign = declarations.campaign
    form = declarations.forms["cadre_registration"]
    task = campaign.task("cadres")
    fields = list(form.top_fields())
    data_dir = Path(spec.data_dir)
    files = data_dir / "files"
    files.mkdir(parents=True, exist_ok=True)
    persistence = PicklePersistence(spec.pickle_path, on_flush=spec.durable)
    application = (
        ApplicationBuilder()
        .token(BOT_TOKEN)
        .request(FakeBotApi(telegram))
        .get_updates_request(FakeBotApi(telegram))
        .persistence(persistence)
        .updater(None)
        .build()
    )

    def keyboard(options: list[str]) -> InlineKeyboardMarkup | None:
        if not options:
            return None
        rows = [[InlineKeyboardButton(label, callback_data=f"o|{n}")] for n, label in enumerate(options, 1)]
        return InlineKeyboardMarkup(rows)

    async def ask(update: Update, index: int, prefix: str = "") -> int:
        assert update.effective_message is not None
        decl = fields[index]
        text = f"{prefix}（{index + 1}/{len(fields)}）{decl.prompt}"
        if decl.example:
            text += f"\n例如：{decl.example}"
        options = decl.choice_buttons if decl.kind == "choice" else []
        await update.effective_message.reply_text(text, reply_markup=keyboard(options))
        return index

    async def new(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        assert update.effective_message is not None
        options = ["登记表（已交0份，需2份，5月25日前）", "课程推荐表", "示范点申报表"]
        await update.effective_message.reply_text("请选择要填写的表：", reply_markup=keyboard(options))
        return MENU

    async def pick(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        assert context.user_data is not None
        context.user_data["answers"] = {}
        return await ask(update, 0, f"{form.intro}共 {len(form.steps)} 项。\n")

    async def review(update: Update, answers: dict[str, Any]) -> int:
        assert update.effective_message is not None
        lines = [f"{decl.label}：{str(answers.get(decl.key, ''))[:40]}" for decl in fields]
        await update.effective_message.reply_text(
            "\n".join(lines) + "\n\n请核对以上内容，确认无误后提交。",
            reply_markup=keyboard(["确认提交", "修改", "放弃"]),
        )
        return REVIEW

    def answer_handler(index: int) -> Any:
        decl = fields[index]

        async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
            message = update.effective_message
            assert message is not None and context.user_data is not None
            answers: dict[str, Any] = context.user_data.setdefault("answers", {})
            if decl.kind == "photo":
                photo = await message.photo[-1].get_file()
                data = bytes(await photo.download_as_bytearray())
                checked = validate_photo(data)
                if isinstance(checked, Rejected):
                    await message.reply_text(checked.message)
                    return index
                sha = hashlib.sha256(data).hexdigest()
                (files / f"{sha}.jpg").write_bytes(data)
                answers[decl.key] = {"sha256": sha, "mime": "image/jpeg"}
            else:
                text = message.text or ""
                options = decl.choice_buttons
                if decl.kind == "choice" and text.isdigit() and 1 <= int(text) <= len(options):
                    text = options[int(text) - 1]
                assert decl.validator is not None
                context_ = ValidationContext(
                    label=decl.label,
                    today=CAMPAIGN_NOW.date(),
                    campaign_year=campaign.year,
                    deadline=task.deadline,
                    answers=answers,
                )
                result = TEXT_VALIDATORS[decl.validator](text, decl.params, context_)
                if isinstance(result, Rejected):
                    await message.reply_text(result.message)
                    return index
                answers[decl.key] = result.value
            if index + 1 < len(fields):
                return await ask(update, index + 1)
            return await review(update, answers)

        return answer

    async def submit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
        message = update.effective_message
        assert message is not None and context.user_data is not None
        answers = context.user_data.pop("answers", {})
        record = form_record(
            campaign,
            form,
            "yufeng",
            answers,
            CAMPAIGN_NOW.date(),
            lambda sha: files / f"{sha}.jpg",
        )
        number = len(context.user_data.setdefault("submitted", [])) + 1
        document = data_dir / f"{message.chat_id}-{number}.docx"
        document.write_bytes(render_form(record))
        context.user_data["submitted"].append(answers)
        await message.reply_text(f"已提交《{form.short_title}》，编号 #{number}。")
        with document.open("rb") as stream:
            await message.reply_document(stream, caption=f"《{form.title}》请打印、盖章后报送。")
        return ConversationHandler.END

    text_only = filters.TEXT & ~filters.COMMAND
    states: dict[object, list[Any]] = {
        MENU: [MessageHandler(filters.Regex("^(1|登记表.*)$"), pick)],
        REVIEW: [MessageHandler(filters.Regex("^(1|确认提交)$"), submit)],
    }
    for index, decl in enumerate(fields):
        kind = filters.PHOTO if decl.kind == "photo" else text_only
        states[index] = [MessageHandler(kind, answer_handler(index))]
    application.add_handler(
        ConversationHandler(
            entry_points=[CommandHandler("new", new)],
            states=states,
            fallbacks=[CommandHandler("new", new)],
            name=CONVERSATION,
            persistent=True,
        )
    )
    return application, persistence


def worker(spec: PickleSpec, start: Start) -> PickleResult:
    return asyncio.run(_worker(spec, start))


async def _worker(spec: PickleSpec, start: Start) -> PickleResult:
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    logging.basicConfig(level=logging.ERROR)
    from telegram import Update

    telegram = FakeTelegram(first_update_id=1)
    application, persistence = _application(spec, telegram)
    began = time.perf_counter()
    await application.initialize()
    load_seconds = time.perf_counter() - began
    durable = spec.durable
    costs: list[float] = []

    async def drive(deadline: float = math.inf) -> int:
        handled = 0
        while (batch := telegram.take()) and time.monotonic() < deadline:
            for payload in batch:
                if time.monotonic() > deadline:
                    break
                began = time.perf_counter()
                await application.process_update(Update.de_json(payload, application.bot))
                if durable:
                    await application.update_persistence()
                    await persistence.flush()
                costs.append((time.perf_counter() - began) * 1000)
                handled += 1
        return handled

    for chat in spec.warmup_chats:
        telegram.add_chat(chat, registration_script())
    await drive()
    costs.clear()
    telegram.finished = 0
    script: list[Step] = registration_script()[: spec.script_length]
    start.wait()
    for chat in spec.chats:
        telegram.add_chat(chat, script)
    started = time.monotonic()
    messages = await drive(started + spec.max_seconds)
    seconds = time.monotonic() - started
    rss, peak = memory_mb()
    changed = len({chat for chat, state in telegram.chats.items() if state.position > 0})
    began = time.perf_counter()
    await persistence.flush()  # one whole-file save (on_flush=False: what each changed entry costs)
    save_ms = (time.perf_counter() - began) * 1000
    await application.bot.shutdown()  # not Application.shutdown(): that would save again, per entry
    return PickleResult(
        messages=messages,
        seconds=seconds,
        costs_ms=costs,
        rss_mb=rss,
        peak_rss_mb=peak,
        load_seconds=load_seconds,
        save_ms=save_ms,
        pickle_mb=Path(spec.pickle_path).stat().st_size / 1e6,
        changed=2 * changed,  # each chat's user_data and its conversation state
        finished_chats=telegram.finished,
        api_calls=dict(telegram.api_calls),
    )


def run_pickle_bot(
    work_dir: Path,
    *,
    durable: bool,
    chats: int,
    stored: int,
    script_length: int = len(registration_script()),
    max_seconds: float = 120.0,
) -> PickleResult:
    """Write a pickle with ``stored`` conversations and run the bot over it in a fresh process."""
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / "conversations.pickle"
    write_stored(path, stored)
    spec = PickleSpec(
        pickle_path=str(path),
        data_dir=str(work_dir / "data"),
        durable=durable,
        chats=tuple(ACTIVE_CHAT_BASE + n for n in range(chats)),
        warmup_chats=(WARMUP_CHAT_BASE, WARMUP_CHAT_BASE + 1),
        script_length=script_length,
        max_seconds=max_seconds,
    )
    [result] = run_workers(worker, [spec])
    path.unlink(missing_ok=True)
    return result

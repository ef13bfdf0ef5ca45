"""Run the reliability suite and write docs/RELIABILITY.md from what it actually did.

    .venv/bin/python -m tests.reliability_report            # CI-sized: 100 kills
    INTAKE_CRASH_KILLS=1000 .venv/bin/python -m tests.reliability_report   # a longer run by hand

Needs the same environment as `make test` (INTAKE_TEST_POSTGRES_URL for the PostgreSQL rows).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "RELIABILITY.md"

#: (test file or node, what it tries, how many times — a number, "figures.key" of a run's figures, or
#: None for the number of tests the row ran)
SUITE = [
    (
        "tests/test_crash_recovery.py",
        "`intake chat` killed with SIGKILL at a random moment, restarted",
        "crash.kills",
    ),
    (
        "tests/test_service_under_fire.py::test_twenty_web_contacts_through_ten_kills_of_the_service",
        "`intake run` SIGKILLed at random moments under 20 web contacts, restarted",
        "web_kills.kills",
    ),
    (
        "tests/test_service_under_fire.py::test_twenty_web_contacts_through_five_restarts_of_postgresql",
        "its own PostgreSQL restarted under `intake run` and 20 web contacts",
        "postgres_restarts.restarts",
    ),
    (
        "tests/test_web_edge.py::test_no_request_to_any_route_gets_a_500_or_a_traceback",
        "every route fuzzed: each method, malformed/deep/huge bodies, forged tokens, hostile paths",
        "fuzz.requests",
    ),
    (
        "tests/test_web_edge.py",
        "web edge: deep JSON, ids ≥ 2^31, body limits, guessing, notices, messages sent twice, "
        "a locked or deleted database",
        None,
    ),
    (
        "tests/test_web_edge.py::test_a_locked_database_answers_the_webhook_503_and_logs_no_personal_data",
        "logs at DEBUG scanned under database errors: the webhook on a locked SQLite",
        3,
    ),
    (
        "tests/test_web_edge.py::test_a_locked_database_answers_the_web_chat_503_and_keeps_what_was_entered",
        "logs at DEBUG scanned under database errors: the web chat on a locked SQLite",
        1,
    ),
    (
        "tests/test_web_edge.py::test_the_console_meeting_a_vanished_database_says_so_and_logs_nothing_personal",
        "logs at DEBUG scanned under database errors: the console with its database deleted",
        2,
    ),
    (
        "tests/test_service_start.py",
        "`intake run` on an expired campaign, as a trial, beside submissions with an empty database",
        None,
    ),
    (
        "tests/test_console.py::test_killed_mid_form_and_restarted_nothing_accepted_is_lost",
        "console killed after each of 7 answers",
        7,
    ),
    (
        "tests/test_telegram_e2e.py::test_the_service_killed_mid_form_continues_in_a_new_process",
        "Telegram service SIGKILLed mid-form, a message sent while down",
        1,
    ),
    (
        "tests/test_telegram_e2e.py::test_a_site_with_an_album_a_duplicate_update_and_a_stale_button",
        "the same Telegram update delivered twice; a button from an old message",
        2,
    ),
    ("tests/test_telegram_webhook.py", "webhook: wrong/missing secret, duplicate update_id, bad payload", 5),
    ("tests/test_workers.py", "two workers, one PostgreSQL, 84 interleaved updates for 6 chats", 84),
    (
        "tests/test_nudges.py::test_two_workers_on_postgresql_never_send_the_same_reminder_twice",
        "two workers planning reminders at the same minutes, 5 rounds each",
        10,
    ),
    (
        "tests/test_hostile_input.py",
        "hypothesis: arbitrary Unicode, control/RTL/zero-width, SQL/path text, "
        "100 KB messages, random bytes as photos",
        600,
    ),
    ("tests/test_dialog_walks.py", "random walks: answers, commands, noise, photos in any state", 3000),
    (
        "tests/test_access.py",
        "authorization matrix: unbound, revoked, other unit, contact vs 组联部 commands",
        20,
    ),
    (
        "tests/test_invites.py",
        "used, expired and refused invites; stale buttons; the reviewers' own notice",
        8,
    ),
    (
        "tests/test_backup.py",
        "backup → restore (SQLite→SQLite, SQLite→PostgreSQL) compared table by table; purge",
        4,
    ),
    (
        "tests/test_telegram_e2e.py::test_a_contact_binds_fills_the_registration_form_and_gets_the_docx",
        "a whole Telegram session at DEBUG level, logs scanned for names and phones",
        1,
    ),
    (
        "tests/test_wecom_crypto.py",
        "企业微信 crypto: Tencent's published echostr and message vectors, against the fake's own AES "
        "and against wechatpy's; another corp's ciphertext refused",
        4,
    ),
    (
        "tests/test_wecom.py::test_the_callback_answers_wecoms_url_check_and_refuses_what_is_not_wecom",
        "企业微信 callback: URL check answered within 1 s; a bad signature, an hour-old replay, a garbled "
        "body, another corp's message: 4xx, nothing stored, no message text in the log",
        5,
    ),
    (
        "tests/test_wecom.py::test_a_member_binds_fills_a_form_gets_its_docx_and_is_reached_by_returns_and_nudges",
        "企业微信 through `intake run` and the fake: bind, 登记表 with photos, DOCX as a file; a resent "
        "MsgId, an old card pressed again; 退回 and /remind pushed; an expired token fetched again once",
        1,
    ),
    (
        "tests/test_wecom.py::test_wecom_refusals_delay_a_message_without_losing_it",
        "企业微信 45009 (waits out the minute) and 81013 (kept in the outbox, a Chinese line for the "
        "deployer)",
        2,
    ),
    (
        "tests/test_wecom.py::test_a_kill_between_storing_and_replying_loses_nothing_and_answers_once",
        "`intake run` SIGKILLed between storing a WeCom message and replying, the MsgId sent again",
        1,
    ),
    (
        "tests/test_wecom_under_fire.py::test_ten_wecom_members_through_kills_of_the_service",
        "`intake run` SIGKILLed at random moments (about half once a message in flight is stored) under "
        "10 企业微信 members filling 登记表, each callback without a 200 sent again with its MsgId: every "
        "answer once, one inbox row per MsgId, every reply delivered (a killed pass's resent), no "
        "traceback or personal data in the log",
        "wecom_kills.kills",
    ),
    (
        "tests/test_http_edge.py::test_one_cookie_opening_streams_by_the_hundred_leaves_the_service_answering",
        "event-stream exhaustion: one cookie opens 400 streams against `intake run` limited to 256 open "
        "files; the health check, a page and the newest stream answer, the log stays a few lines",
        400,
    ),
    (
        "tests/test_web_streams.py",
        "every open tab gets every notice; a notice written into a dead connection is offered again; "
        "streams capped per person and in total; a revoked contact's stream and downloads end at once",
        None,
    ),
    (
        "tests/test_web_streams.py::test_streams_opened_all_at_once_never_go_past_the_most",
        "12 pages open their event streams at the same moment with room for 3: no more than 3 admitted",
        12,
    ),
    (
        "tests/test_wecom_sign_in.py::test_a_revoked_then_rebound_members_old_session_and_links_are_refused",
        "a 企业微信 member revoked, then bound again on the same row: her old cookie and download link "
        "refused",
        1,
    ),
    (
        "tests/test_http_edge.py",
        "slow headers and bodies (3 bytes/s) get a Chinese 408; forwarded addresses believed only from "
        "trusted proxies; out of file descriptors said once a minute; a closed upload one INFO line",
        None,
    ),
    (
        "tests/test_backup.py::test_restore_refuses_a_path_out_of_the_data_folder_and_files_that_are_not_what_rows_say",
        "`intake restore` of a hostile archive: a path out of the data folder, a swapped photo, an "
        "unlisted change; nothing restored",
        3,
    ),
    (
        "tests/test_backup.py::test_restore_streams_members_and_refuses_one_larger_than_its_manifest_says",
        "restore streams: a 256 MB member restored in under 200 MB of memory; a 512 MB member listed "
        "as 4 KB refused before it is read",
        2,
    ),
    (
        "tests/test_web_edge.py::test_hidden_characters_in_text_and_file_names_are_cleaned_before_anything_keeps_them",
        "a lone surrogate and hidden characters typed and in an upload's file name: the page reloads, "
        "backup and restore work",
        1,
    ),
    (
        "tests/test_restore_in_place.py",
        "restore beside the old data folder: a damaged backup deletes none of its files, a file with "
        "other bytes is refused and nothing changes, a listed file missing restores nothing",
        None,
    ),
    (
        "tests/test_temporaries.py",
        "temporaries of another host or container kept until old, removed by purge; backups, exports "
        "and stored files fsynced before they are reported",
        None,
    ),
    (
        "tests/test_backup.py::test_a_value_a_backup_cannot_write_names_its_row_and_leaves_the_old_backup",
        "a value a backup cannot write: its table and row named in Chinese, exit 2, the old backup "
        "untouched, no partial archive",
        1,
    ),
    (
        "tests/test_backup.py::test_start_up_removes_the_temporaries_of_every_writer_no_longer_running",
        "purge after kills: a writer SIGKILLed mid-write; its spool and record temporaries removed at "
        "start-up, a live writer's kept",
        1,
    ),
    (
        "tests/test_backup.py::test_purge_removes_every_temporary_no_running_process_writes",
        "`intake purge` removes every temporary no running process writes, whatever its age",
        1,
    ),
    (
        "tests/test_export_jobs.py::test_a_videos_zip_cut_by_a_kill_arrives_once_and_whole_after_the_restart",
        "a kill during an export: `intake run` SIGKILLed while writing a 768 MB videos ZIP; after the "
        "restart it arrives once, whole, and no partial file is left",
        1,
    ),
    (
        "tests/test_export_jobs.py::test_an_export_printing_forms_holds_up_no_other_contacts_message",
        "导出 printing 26 forms while another contact sends messages: none waits behind it",
        1,
    ),
    (
        "tests/test_export_jobs.py::test_an_export_that_kills_its_worker_every_time_is_given_up_and_said_so",
        "an export whose worker is killed three times is not started a fourth; 组联部 told it failed",
        1,
    ),
    (
        "tests/test_export.py::test_a_kept_docx_is_copied_through_in_chunks_never_read_whole",
        "a 48 MB kept Word file goes into the export ZIP twice with under 16 MB held",
        1,
    ),
    (
        "tests/test_wecom_sign_in.py",
        "企业微信 sign-in: another person's code and state, a replayed state, an old one, a browser "
        "signed in as someone else",
        None,
    ),
    (
        "tests/test_wecom_callback.py",
        "signed 企业微信 callbacks with malformed senders and types (15 shapes) and an oversized body: "
        "400/413, one log line, nothing stored",
        None,
    ),
    (
        "tests/test_mp4_probe.py::test_a_file_whose_media_is_not_there_is_damaged",
        "damaged MP4s (cut short, an index pointing past the end, ftyp and noise) refused as damaged",
        10,
    ),
    (
        "tests/test_data_permissions.py",
        "under umask 022: the database, its WAL, photos, videos and exports written 0600 in 0700 folders",
        None,
    ),
    (
        "tests/test_download_links.py",
        "download links that open without the cookie: forged path, version, contact or signature "
        "refused; expired 410; revoked 403; a photo no longer theirs refused; grants never stored",
        None,
    ),
    (
        "tests/test_imported_form_channels.py",
        "a campaign of imported Word forms only, over the web chat (查看/退回/接收/导出), the console "
        "(a repeating table) and the fake 企业微信 (photos), each form's Word file read back",
        None,
    ),
    (
        "tests/test_trial_review.py",
        "组联部 in the middle of a 退回: a command typed instead of a reason is run and nothing is "
        "returned; a short reason refused; an accepted form returned only after confirming; a second 接收",
        None,
    ),
    (
        "tests/test_trial_forms.py",
        "a contact's slips from a browser trial: a photo at an unfinished review, a second photo at a "
        "one-photo step, an abandoned form started again, a month 13, a sentence as a name",
        None,
    ),
    (
        "tests/test_word_forms_web_chat.py",
        "each of 9 Word forms of different layouts imported, filled over the web chat (photos "
        "uploaded), downloaded from the chat's link and read back cell by cell",
        None,
    ),
    (
        "tests/test_word_import.py::test_files_that_are_not_word_forms_are_refused",
        "`intake form import` of files that are not Word forms (.doc, .wps, renamed, encrypted, cut, no "
        "table, PDF): each refused in Chinese, nothing written",
        None,
    ),
]

PROMISES = """\
## What is promised

- **Delivery.** A Telegram update is stored (unique by update id) before it is acknowledged — before
  the webhook answers 200 and before getUpdates' offset moves past it — processed in order per chat,
  and marked done in the same transaction as its effects and its queued replies. A duplicate changes
  nothing; pending updates left by a crash are processed on start. Replies leave through an outbox at
  Telegram's pace and are retried (429 `retry_after` honoured); a reply may, rarely, be sent twice
  after a crash between sending and recording it — an answer is never applied twice. A web chat
  message carries its page's own id, recorded in the transaction that handles it: the page sends a
  message again (same id) when no answer came, and a copy is recognised, never applied to the next
  field.
- **Availability.** Whatever goes wrong, a request gets a short Chinese answer, never a bare 500 nor
  a traceback. With the database down, restarting, locked or its file gone, every request gets 503
  “系统正在维护…” (the webhook too, so Telegram sends the update again), the log one line when the
  outage starts and one when it is over, and the service resumes by itself. `intake run` refuses an
  empty database beside a data folder of submissions, and a campaign past its retention date.
- **Durability.** Every accepted answer is committed before the reply is produced (SQLite in WAL mode
  with `synchronous=FULL`, or PostgreSQL). A process killed at any moment loses nothing accepted: the
  next message continues at the same field. Files are written atomically and named by their content.
- **Isolation.** A contact sees and changes only their own unit's drafts, submissions and files;
  组联部's commands are refused to contacts; unbound or revoked identities get a short refusal and
  nothing is stored about them. Several workers on one PostgreSQL database claim each update (row lock,
  `SKIP LOCKED`, and no earlier update of the chat pending), so each chat is processed one message at a
  time; reminders are recorded with a unique key before they are queued, so none is sent twice.
- **Personal data.** No message text, name, phone number, session id, raw update or statement
  parameter reaches the logs at any level (every engine hides parameters; only error types are
  logged, never their text); no server path reaches a person; `intake backup`/`restore` round-trip
  every table and file; `intake purge --before DATE` removes a campaign's personal data after the
  retention period promised in the privacy notice, with every file no row names (temporaries left
  by a crash included), and lists them. Text is cleaned once where it enters (lone surrogates,
  control and invisible characters), so nothing stored can break a backup. Everything in the data
  folder is its owner's only (0600/0700). `intake restore` trusts nothing in an archive: every path
  stays inside the data folder, every member is streamed no larger than its manifest says and
  checked against its SHA-256.
- **Load.** One person holds a handful of event streams and the process a bounded number; slow
  headers and bodies are cut off with a 408; forwarded addresses count only from trusted proxies.
  An export promised to 组联部 is a job recorded before it is promised, made apart from the messages,
  and made again after a kill.
"""


def main() -> int:
    with tempfile.TemporaryDirectory() as work:
        figures_file = Path(work) / "figures.jsonl"
        junit = Path(work) / "junit.xml"
        env = {**os.environ, "INTAKE_CRASH_REPORT": str(figures_file)}
        command = [sys.executable, "-m", "pytest", "-q", f"--junitxml={junit}", *(node for node, *_ in SUITE)]
        started = datetime.now(UTC)
        run = subprocess.run(command, cwd=ROOT, env=env, check=False)
        results = _results(junit)
        figures: dict[str, dict[str, object]] = {}
        if figures_file.exists():
            for line in figures_file.read_text(encoding="utf-8").splitlines():
                for name, values in json.loads(line).items():
                    figures.setdefault(name, {}).update(values)
    crash = figures.get("crash", {})
    rows = []
    for node, tried, times in SUITE:
        passed, failed, skipped = _outcome(results, node)
        if isinstance(times, str):
            source, _, key = times.partition(".")
            count = figures.get(source, {}).get(key, "—")
        else:
            count = times if times is not None else passed + failed
        result = "held" if passed and not failed else ("skipped" if skipped and not failed else "FAILED")
        rows.append(f"| {tried} | {count} | {passed} passed, {failed} failed, {skipped} skipped | {result} |")
    crash_line = (
        f"Crash run: {crash.get('kills')} kills (seed {crash.get('seed')}), {crash.get('submissions')} forms "
        f"submitted, {crash.get('answers_lost')} answers lost, {crash.get('duplicates')} duplicates, "
        f"{crash.get('lines_lost_to_a_kill')} kills landed before the line was read, "
        f"{crash.get('seconds')} s."
        if crash
        else "Crash run: no figures (the crash test did not run)."
    )
    under_fire = "\n\n".join(
        [
            *(_under_fire_line(name, figures.get(name)) for name in ("web_kills", "postgres_restarts")),
            _wecom_line(figures.get("wecom_kills")),
        ]
    )
    OUTPUT.write_text(
        "# Reliability\n\n"
        "Generated by `python -m tests.reliability_report` from a real run of the reliability suite; "
        "do not edit by hand.\n\n"
        + PROMISES
        + f"\n## What the suite tried (run {started:%Y-%m-%d %H:%M} UTC)\n\n"
        "| what was tried | times | tests | result |\n|---|---|---|---|\n"
        + "\n".join(rows)
        + f"\n\n{crash_line}\n\n{under_fire}\n\nA longer run: `INTAKE_CRASH_KILLS=1000 "
        "INTAKE_SERVICE_KILLS=100 INTAKE_POSTGRES_RESTARTS=50 INTAKE_CRASH_SEED=7 "
        ".venv/bin/python -m tests.reliability_report`.\n",
        encoding="utf-8",
    )
    print(f"wrote {OUTPUT}")
    return run.returncode


UNDER_FIRE = {"web_kills": "SIGKILLs of `intake run`", "postgres_restarts": "PostgreSQL restarts"}


def _under_fire_line(name: str, run: dict[str, object] | None) -> str:
    """One sentence of figures from a run of tests/test_service_under_fire.py."""
    what = UNDER_FIRE[name]
    if not run:
        return f"{what}: no figures (the test did not run)."
    times = run.get("kills", run.get("restarts"))
    return (
        f"{times} {what} under {run['contacts']} web contacts: {run['forms']} forms submitted, "
        f"{run['messages']} messages answered ({run['sent_again']} sent again by their page), "
        f"{run['answers_lost']} acknowledged answers lost, {run['duplicates']} duplicates, "
        f"{run['server_errors']} 500s, {run['apologies']} apologies, {run['tracebacks']} tracebacks and "
        f"no personal data in {run['log_lines']} log lines at DEBUG "
        f"({run['outage_lines']} “database unavailable” lines), {run['seconds']} s."
    )


def _wecom_line(run: dict[str, object] | None) -> str:
    """One sentence of figures from a run of tests/test_wecom_under_fire.py."""
    if not run:
        return "企业微信 under SIGKILLs: no figures (the test did not run)."
    return (
        f"{run['kills']} SIGKILLs of `intake run` under {run['members']} 企业微信 members: "
        f"{run['forms']} forms submitted, {run['messages']} callbacks acknowledged "
        f"({run['sent_again']} sent again with their MsgId; "
        f"{run['kills_after_storing']} kills between storing a message and its 200), "
        f"{run['answers_lost']} answers lost, {run['duplicates']} duplicates, "
        f"{run['replies']} replies delivered ({run['replies_sent_again']} sent again after a kill), "
        f"{run['replies_lost']} lost, {run['tracebacks']} tracebacks and no personal data "
        f"in {run['log_lines']} log lines at DEBUG, {run['seconds']} s."
    )


def _results(junit: Path) -> list[tuple[str, str]]:
    """(test id as file::name, outcome) for every test case in a JUnit XML report."""
    results = []
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        path = case.get("classname", "").replace(".", "/")
        node = f"{path}.py::{case.get('name', '')}"
        outcome = "passed"
        if case.find("failure") is not None or case.find("error") is not None:
            outcome = "failed"
        elif case.find("skipped") is not None:
            outcome = "skipped"
        results.append((node, outcome))
    return results


def _outcome(results: list[tuple[str, str]], node: str) -> tuple[int, int, int]:
    """Counts for one suite row: a whole file, or one test (all its parameter sets)."""
    if "::" in node:
        mine = [outcome for test, outcome in results if test.split("[")[0] == node]
    else:
        mine = [outcome for test, outcome in results if test.startswith(node + "::")]
    return mine.count("passed"), mine.count("failed"), mine.count("skipped")


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmarks of fulian-intake (issue 8): ``python -m bench`` prints one table; ``--quick`` is CI's.

Sections, each a module:

* ``pipeline`` — the answer pipeline through the real python-telegram-bot ``Bot`` (its network stubbed
  at the request class, ``scenario.FakeBotApi``) and our ``TelegramChannel``, on SQLite and PostgreSQL,
  in one and two worker processes, with many stored conversations (``setup_db``);
* ``statements`` — SQL statements and commits per message by kind (typed answer, button, photo,
  确认提交, 组联部's 进度), counted with SQLAlchemy's engine events: a figure that does not depend on
  the host;
* ``pickle_bot`` — the usual way: a ``ConversationHandler`` bot with ``PicklePersistence``, saved every
  60 s (PTB's default) or after every update, fed the same messages;
* ``rendering`` — ms per DOCX for each form, and the supervisor's export ZIP;
* ``supervisor`` — /status, /pending, a contact's /new and nudge planning at region scale, and the
  outbox dispatcher's pace;
* memory — RSS of a worker with many stored conversations (reported by the pipeline and pickle
  workers).

``report`` lays out the table with each figure's run conditions. See docs/PERFORMANCE.md.
"""

"""组联部's 导出 as jobs: promised in the message's transaction, made apart from it, sent once.

Printing many forms, or copying GBs of course videos, must neither hold the other messages (the
group commit waits for its transaction) nor be lost to a restart: 导出 records a job for the forms'
ZIP (and one for the videos' ZIP, when there are videos) in the transaction that answers “正在生成…”,
and the service's export loop (``bot.delivery.exports``) makes them afterwards, one at a time. The
worker holds a job while it writes (renewing its hold every few seconds); killed, its hold lapses
and the job is made again after the restart, under the same file name (the time it was asked for),
its half-written temporary replaced. The file's message is queued in the transaction that marks the
job done: sent once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from dialogs.campaign import Campaign
from dialogs.declarations import FormDecl
from dialogs.exchange import DocumentRef, ExportKind, Reply
from dialogs.exports import export_videos
from dialogs.failures import failure_line
from storage.export_jobs import ExportOrder
from storage.repository import Repository

log = logging.getLogger(__name__)

#: Builds a notice's forms' export ZIP for the time it was asked for, and returns its path.
Exporter = Callable[[Campaign, dict[str, FormDecl], datetime], Path]
#: Builds (or reuses) a notice's courses' videos' ZIP and returns its path; None when no video is kept.
VideoExporter = Callable[[Campaign, dict[str, FormDecl], datetime], Path | None]

HOLD = timedelta(seconds=20)  # a job is taken to be abandoned this long after its last renewal
RENEW_EVERY = 5.0  # seconds between renewals while a job is made
RETRY_AFTER = timedelta(seconds=30)  # a job that failed is tried again after this
MAX_ATTEMPTS = 3

UNAVAILABLE = "导出功能暂不可用。"
FORMS_COMING = "正在生成全部表格、照片和汇总表，好了马上发给您（表格多时需要几分钟），这期间可以继续操作。"
FORMS_STILL_COMING = "上一次导出的表格还在生成中，好了马上发给您。"
FORMS_FAILED = "全部表格没能生成（服务器出了问题）。请稍后再点“导出”，或联系管理员。"
VIDEOS_FAILED = "课程视频没能打包（服务器出了问题），表格不受影响。请稍后再点“导出”，或联系管理员。"


class ExportJobs:
    """Promises exports (``promise``, inside a message's transaction) and makes them (``run_due``,
    from the service's export loop, or a test). The notice (its campaign and forms) is given with
    each call, so one ``ExportJobs`` serves every notice.

    Args:
        repository: the storage door.
        clock: the current time (aware).
        exporter: builds the forms' ZIP; None: 导出 is unavailable.
        video_exporter: builds (or reuses) the videos' ZIP; None: no videos' ZIP.
    """

    def __init__(
        self,
        repository: Repository,
        clock: Callable[[], datetime],
        exporter: Exporter | None = None,
        video_exporter: VideoExporter | None = None,
    ) -> None:
        self.repository = repository
        self.clock = clock
        self.exporter = exporter
        self.video_exporter = video_exporter
        self._running = threading.Lock()  # one job at a time in a process

    def promise(
        self, campaign: Campaign, forms: dict[str, FormDecl], channel: str, chat_key: str, now: datetime
    ) -> list[Reply]:
        """Record a notice's forms' export (and its videos', when there are any) for this person,
        and say so; a person who still waits for one is not given a second."""
        if self.exporter is None:
            return [Reply(UNAVAILABLE)]
        campaign_id = campaign.id
        if self.repository.export_pending(campaign_id, ExportKind.FORMS, channel, chat_key):
            replies = [Reply(FORMS_STILL_COMING)]
        else:
            self.repository.add_export_job(campaign_id, ExportKind.FORMS, channel, chat_key, now)
            replies = [Reply(FORMS_COMING)]
        videos = export_videos(self.repository, campaign, forms) if self.video_exporter else []
        if videos and not self.repository.export_pending(campaign_id, ExportKind.VIDEOS, channel, chat_key):
            self.repository.add_export_job(campaign_id, ExportKind.VIDEOS, channel, chat_key, now)
            size = sum(video.size for video in videos) / 1024 / 1024
            replies.append(
                Reply(f"课程视频共 {len(videos)} 个（{size:,.0f} MB），正在另行打包，好了马上发给您。")
            )
        return replies

    def run_due(self, campaign: Campaign, forms: dict[str, FormDecl]) -> int:
        """Make every export of a notice waiting now (and not held by another worker), one after
        another; how many were finished. Slow: call it from a worker thread."""
        finished = 0
        with self._running:
            while (order := self._claim(campaign)) is not None:
                if order.attempts > MAX_ATTEMPTS:
                    finished += self._give_up(order)
                else:
                    finished += self._run(campaign, forms, order)
        return finished

    def _claim(self, campaign: Campaign) -> ExportOrder | None:
        """The next job to make, its attempt counted now: a job that kills the process making it
        (out of memory, say) raises nothing, and would otherwise be started again for ever."""
        now = self.clock()
        return self.repository.claim_export_job(campaign.id, now, now + HOLD)

    def _give_up(self, order: ExportOrder) -> bool:
        """Mark a job started ``MAX_ATTEMPTS`` times and never finished as failed, and tell the person."""
        log.error(
            "export job %s (%s) stopped %d times unfinished: given up", order.id, order.kind, MAX_ATTEMPTS
        )
        return self.repository.finish_export_job(order.id, "failed", self.clock(), {"text": _failed(order)})

    def _run(self, campaign: Campaign, forms: dict[str, FormDecl], order: ExportOrder) -> bool:
        """Make one job's file and send it; on a failure try again later, and after the last attempt
        tell the person. True when the job is finished."""
        stop = threading.Event()
        holding = threading.Thread(target=self._hold, args=(order.id, stop), name="export-hold", daemon=True)
        holding.start()
        try:
            message = self._make(campaign, forms, order)
        except Exception as error:
            log.error("export job %s (%s) failed: %s", order.id, order.kind, failure_line(error))
            if order.attempts < MAX_ATTEMPTS:
                self.repository.hold_export_job(order.id, self.clock() + RETRY_AFTER)
                return False
            return self.repository.finish_export_job(
                order.id, "failed", self.clock(), {"text": _failed(order)}
            )
        finally:
            stop.set()
            holding.join()
        return self.repository.finish_export_job(order.id, "done", self.clock(), message)

    def _make(
        self, campaign: Campaign, forms: dict[str, FormDecl], order: ExportOrder
    ) -> dict[str, Any] | None:
        """The file of a job, written whole; the message that sends it (None: nothing to send)."""
        made = order.requested_at.astimezone(campaign.zone)
        if order.kind == ExportKind.FORMS:
            assert self.exporter is not None
            forms_zip = self.exporter(campaign, forms, order.requested_at)
            text = f"全部表格、照片和汇总表（{made:%m-%d %H:%M}）"
            return {
                "text": text,
                "document": DocumentRef("export", forms_zip.name, holds=ExportKind.FORMS).as_payload(),
            }
        videos = (
            self.video_exporter(campaign, forms, order.requested_at)
            if self.video_exporter is not None
            else None
        )
        if videos is None:
            return None
        text = f"课程视频（共 {videos.stat().st_size / 1024 / 1024:,.0f} MB，按单位和课程分好文件夹）"
        return {
            "text": text,
            "document": DocumentRef("export", videos.name, holds=ExportKind.VIDEOS).as_payload(),
        }

    def _hold(self, job_id: int, stop: threading.Event) -> None:
        """Renew the hold on a job while it is made, so no other worker starts it again."""
        while not stop.wait(RENEW_EVERY):
            try:
                self.repository.hold_export_job(job_id, self.clock() + HOLD)
            except Exception as error:  # a database hiccup: the next renewal may pass
                log.warning("export job %s: hold not renewed (%s)", job_id, type(error).__name__)


def _failed(order: ExportOrder) -> str:
    """What the person is told when their export could not be made."""
    return FORMS_FAILED if order.kind == ExportKind.FORMS else VIDEOS_FAILED

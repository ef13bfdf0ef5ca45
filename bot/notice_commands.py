"""``intake notices``: the notices this deployment holds, their state, and the files that are wrong."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

from bot.settings import Settings
from dialogs.catalogue import Catalogue, Notice, load_catalogue, load_notice_file
from dialogs.engine import system_clock
from renderers.registry import form_renderers

__all__ = ["add_notice_commands", "cmd_notices", "notice_catalogue"]


def notice_catalogue(settings: Settings) -> Catalogue:
    """The notices of ``INTAKE_CAMPAIGNS_DIR``; or only the one of ``INTAKE_CAMPAIGN_FILE``, when it is
    set. Every form a notice collects must print: from its Word template or a shipped renderer."""
    if "campaign_file" in settings.model_fields_set:
        return load_notice_file(settings.campaign_file, form_renderers)
    return load_catalogue(settings.campaigns_dir, form_renderers)


def cmd_notices(args: argparse.Namespace) -> int:
    """One line per notice (id, 文号, title, state, units, nearest deadline, file); then each file left
    out and why. Exit 1 when a file is wrong (the others are listed all the same)."""
    settings = Settings()
    catalogue = notice_catalogue(settings)
    now = system_clock()
    single = "campaign_file" in settings.model_fields_set
    where = (
        f"INTAKE_CAMPAIGN_FILE（{settings.campaign_file}）"
        if single
        else f"通知目录 {settings.campaigns_dir} "
    )
    print(f"{where}中有 {len(catalogue.notices)} 个通知" + ("：" if catalogue.notices else "。"))
    for notice in catalogue.notices:
        print("  " + notice_line(notice, now))
    if not catalogue.problems:
        return 0
    print(f"\n有 {len(catalogue.problems)} 处问题，相关通知没有载入（其余照常）：", file=sys.stderr)
    for problem in catalogue.problems:
        print(f"  ✗ {problem.message}", file=sys.stderr)
    return 1


def notice_line(notice: Notice, now: datetime) -> str:
    """“liuzhou-2021  柳妇通〔2021〕29号  《…》  已归档  14 个单位  截止 2021-08-30（已过）  campaigns/…”"""
    campaign = notice.campaign
    upcoming = notice.next_deadline(now)
    if upcoming is None:
        deadline = f"截止 {notice.last_deadline}（已过）"
    else:
        days = (upcoming - now.astimezone(campaign.zone).date()).days
        deadline = f"最近截止 {upcoming}（{'今天' if days == 0 else f'还有 {days} 天'}）"
    return "  ".join(
        (
            campaign.id,
            campaign.notice,
            f"《{campaign.name}》",
            notice.state(now),
            f"{len(campaign.units)} 个单位",
            deadline,
            notice.source,
        )
    )


def add_notice_commands(commands: Any) -> None:
    """The ``notices`` command, added to ``intake``'s parser."""
    notices = commands.add_parser(
        "notices", help="列出通知目录中的通知（状态、单位数、最近的截止日期）和有问题的文件"
    )
    notices.set_defaults(handler=cmd_notices)

"""``intake backup``, ``intake restore`` and ``intake purge``: the data folder and the database as one
archive, and what is deleted once a notice's retention date has passed."""

from __future__ import annotations

import argparse
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from bot.app import load_declarations
from bot.settings import Settings
from dialogs.exports import export_prefix
from storage.backup import LOST_BEFORE, backup, purge, restore
from storage.database import check_migrated, make_engine, migrate, shown_database

__all__ = ["add_data_commands", "cmd_backup", "cmd_purge"]


def cmd_backup(args: argparse.Namespace) -> int:
    """Every table and stored file into one .tar.gz (or back, with --restore, into an empty database)."""
    settings = Settings().with_database(args.db)
    url = settings.resolved_database_url()
    if args.command == "restore":
        migrate(url)
        counts = restore(make_engine(url), settings.data_dir.resolve(), Path(args.file))
        print(f"已恢复到 {shown_database(url)}：")
    else:
        engine = make_engine(url)
        check_migrated(engine)
        counts = backup(engine, settings.data_dir.resolve(), Path(args.file))
        print(f"已备份到 {args.file}：")
    print("，".join(f"{name} {count}" for name, count in counts.items()))
    if counts.get(LOST_BEFORE):
        print(
            f"注意：有 {counts[LOST_BEFORE]} 个照片或提交记录在做这份备份时已不在数据目录中，备份里也没有；"
            "其余内容已完整恢复。缺少的照片请联系相关单位重新发送。"
        )
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    """Delete the campaign's personal data older than a date (after its retention period), and list
    every file removed (without the start-up sweep of temporaries: purge lists those too)."""
    settings = Settings().with_database(args.db)
    declarations = load_declarations(settings)
    if declarations.others:  # which notice's data goes must be named, never guessed
        raise SystemExit(
            f"通知目录 {settings.campaigns_dir} 里有 {1 + len(declarations.others)} 个通知："
            "请用 INTAKE_CAMPAIGN_FILE 指明要删除个人信息的那个通知的文件，再运行 intake purge。"
        )
    campaign = declarations.campaign
    database = make_engine(settings.resolved_database_url())
    check_migrated(database)
    data_dir = settings.data_dir.resolve()
    try:
        day = date.fromisoformat(args.before)
    except ValueError as error:
        raise SystemExit("日期请写成 2022-06-30 的格式。") from error
    if day <= campaign.personal_data_kept_until and not args.force:
        kept = campaign.personal_data_kept_until
        raise SystemExit(
            f"活动文件规定个人信息保存至 {kept}；现在删除会早于告知用户的期限。确需删除请加 --force。"
        )
    before = datetime.combine(day, time(0, 0), tzinfo=campaign.zone)
    removed = purge(database, data_dir, campaign.id, before, exports_named=export_prefix(campaign))
    print(f"已删除 {day} 之前的个人信息：" + "，".join(f"{name} {n}" for name, n in removed.counts.items()))
    if removed.files:
        print(f"删除的文件（在 {data_dir} 中）：")
        for path in removed.files:
            print(f"  {path}")
    return 0


def add_data_commands(commands: Any) -> None:
    """``backup``, ``restore`` and ``purge`` on the ``intake`` command's subcommands."""
    backup_parser = commands.add_parser("backup", help="把数据库和全部文件备份成一个 .tar.gz")
    backup_parser.add_argument("file", help="备份文件，例如 backup-2021-06-01.tar.gz")
    backup_parser.add_argument("--db", help="数据库地址")
    backup_parser.set_defaults(handler=cmd_backup)

    restore_parser = commands.add_parser("restore", help="从备份恢复到一个新的（空的）数据库")
    restore_parser.add_argument("file", help="备份文件")
    restore_parser.add_argument("--db", help="数据库地址")
    restore_parser.set_defaults(handler=cmd_backup)

    purge_parser = commands.add_parser("purge", help="删除某日期之前的个人信息和文件（过了保存期限后）")
    purge_parser.add_argument("--before", required=True, help="日期，例如 2022-07-01")
    purge_parser.add_argument("--force", action="store_true", help="在告知的保存期限之前也删除")
    purge_parser.add_argument("--db", help="数据库地址")
    purge_parser.set_defaults(handler=cmd_purge)

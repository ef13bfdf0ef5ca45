"""The ``intake`` command: migrate the database, chat in the terminal, run the product, draw diagrams."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.app import build_engine, load_declarations
from bot.console import run_console
from bot.settings import Settings
from bot.telegram_service import TelegramUnavailable, serve, telegram_username
from dialogs.campaign import Campaign, UnitDecl
from dialogs.declarations import DeclarationError
from dialogs.invites import deep_link, issue_invite
from dialogs.supervision import pending_report, status_report
from state_machines.diagrams import write_diagrams
from storage.database import DatabaseNotMigrated, migrate

log = logging.getLogger("intake")


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    if getattr(args, "db", None):
        settings = settings.model_copy(update={"database_url": args.db})
    return settings


def _find_unit(campaign: Campaign, query: str) -> UnitDecl:
    matches = campaign.find_units(query)
    if len(matches) == 1:
        return matches[0]
    listing = "\n".join(f"  {u.code}  {u.name}" for u in campaign.units)
    problem = f"找不到单位“{query}”" if not matches else f"“{query}”对应多个单位"
    raise SystemExit(f"{problem}。请用下列代码或全称之一：\n{listing}")


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)
    migrate(settings.resolved_database_url())
    print(f"数据库已就绪：{settings.resolved_database_url()}")
    return 0


def _chat(settings: Settings, unit_query: str, user: str) -> int:
    engine = build_engine(settings)
    unit_decl = _find_unit(engine.campaign, unit_query)
    unit = engine.repository.unit_by_code(engine.campaign.id, unit_decl.code)
    assert unit is not None
    contact = engine.repository.contact("console", user)
    if contact is None or contact.unit_id != unit.id:
        engine.repository.bind_contact("console", user, unit.id)
    return run_console(engine, user, sys.stdin, sys.stdout)


def cmd_chat(args: argparse.Namespace) -> int:
    return _chat(_settings(args), args.unit, args.user)


def cmd_run(args: argparse.Namespace) -> int:
    """The product's default: Telegram with a token; without one, fill forms right here in the terminal."""
    settings = _settings(args)
    migrate(settings.resolved_database_url())
    if settings.telegram_bot_token:
        print("正在启动 Telegram 渠道……（按 Ctrl+C 停止）")
        try:
            asyncio.run(serve(settings))
        except TelegramUnavailable as error:
            print(str(error), file=sys.stderr)
            return 2
        return 0
    campaign = load_declarations(settings).campaign
    unit_query = args.unit
    if not unit_query:
        print(f"{campaign.issuer}《{campaign.name}》报送助手（本地终端版，数据保存在 {settings.data_dir}/）")
        for number, unit in enumerate(campaign.units, start=1):
            print(f"[{number}] {unit.name}")
        print("请输入您所在单位的序号：", end="", flush=True)
        answer = sys.stdin.readline().strip()
        if answer.isdigit() and 1 <= int(answer) <= len(campaign.units):
            unit_query = campaign.units[int(answer) - 1].code
        else:
            unit_query = answer
        print("\n每行输入一条消息，按 Ctrl+D 结束；下次运行会从上次停下的地方继续。\n")
    return _chat(settings, unit_query, args.user)


def cmd_invite(args: argparse.Namespace) -> int:
    """Print a single-use invite code and the Telegram link that binds a chat to a unit (or to 组联部)."""
    settings = _settings(args)
    engine = build_engine(settings)
    unit_id = None
    who = engine.campaign.contact.department
    if not args.supervisor:
        if not args.unit:
            raise SystemExit(
                "请写上单位，例如：intake invite yufeng；组联部账号用：intake invite --supervisor"
            )
        unit_decl = _find_unit(engine.campaign, args.unit)
        unit = engine.repository.unit_by_code(engine.campaign.id, unit_decl.code)
        assert unit is not None
        unit_id, who = unit.id, unit.name
    role = "supervisor" if args.supervisor else "contact"
    invite = issue_invite(engine.repository, unit_id, role=role, now=engine.clock(), valid_days=args.days)
    expires = invite.expires_at.astimezone(engine.campaign.zone)
    print(f"{who} 的邀请码：{invite.code}（只能使用一次，{expires:%Y-%m-%d %H:%M} 前有效）")
    username = settings.telegram_bot_username or telegram_username(settings)
    if username:
        print(f"Telegram 链接：{deep_link(username, invite.code)}")
    else:
        print("设置 TELEGRAM_BOT_TOKEN 后可生成 Telegram 链接；也可以在聊天中发送：/start " + invite.code)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """The same report 组联部 gets with /status (or /pending), printed here."""
    engine = build_engine(_settings(args))
    now = engine.clock()
    if args.command == "pending":
        contacts = engine.repository.contacts_per_unit(engine.campaign.id)
        print(pending_report(engine.repository, engine.campaign, engine.forms, now, contacts))
        return 0
    unit_code = _find_unit(engine.campaign, args.unit).code if args.unit else None
    print(status_report(engine.repository, engine.campaign, engine.forms, now, unit_code))
    return 0


def cmd_diagrams(args: argparse.Namespace) -> int:
    declarations = load_declarations(Settings())
    stale = write_diagrams(declarations.machines, Path(args.output), check=args.check)
    if args.check and stale:
        print("这些图已过期，请运行 intake diagrams：" + "、".join(str(p) for p in stale), file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="intake", description="市妇联表格报送助手")
    commands = parser.add_subparsers(dest="command", required=True)

    migrate_parser = commands.add_parser("migrate", help="创建或升级数据库")
    migrate_parser.add_argument("--db", help="数据库地址（默认 data/intake.db）")
    migrate_parser.set_defaults(handler=cmd_migrate)

    chat = commands.add_parser("chat", help="在终端里以某单位联系人的身份填表（每行一条消息）")
    chat.add_argument("--unit", required=True, help="单位代码或名称，例如 yufeng 或 鱼峰区妇联")
    chat.add_argument("--user", default="console", help="联系人标识（同一标识再次运行会接着填）")
    chat.add_argument("--db", help="数据库地址")
    chat.set_defaults(handler=cmd_chat)

    run = commands.add_parser("run", help="启动服务（未设置 Telegram 令牌时在终端里填表）")
    run.add_argument("--unit", help="单位代码或名称（不填则列出单位供选择）")
    run.add_argument("--user", default="local", help="联系人标识")
    run.add_argument("--db", help="数据库地址")
    run.set_defaults(handler=cmd_run)

    invite = commands.add_parser("invite", help="生成邀请码（单位联系人或组联部账号绑定用）")
    invite.add_argument("unit", nargs="?", help="单位代码或名称，例如 yufeng")
    invite.add_argument("--supervisor", action="store_true", help="生成市妇联组联部账号的邀请码")
    invite.add_argument("--days", type=int, default=7, help="有效天数（默认7天）")
    invite.add_argument("--db", help="数据库地址")
    invite.set_defaults(handler=cmd_invite)

    status = commands.add_parser("status", help="各单位报送进度（与组联部的 /status 相同）")
    status.add_argument("unit", nargs="?", help="只看某个单位")
    status.add_argument("--db", help="数据库地址")
    status.set_defaults(handler=cmd_status)

    pending = commands.add_parser("pending", help="尚未报齐的单位和任务（与 /pending 相同）")
    pending.add_argument("--db", help="数据库地址")
    pending.set_defaults(handler=cmd_status)

    diagrams = commands.add_parser("diagrams", help="根据表单声明生成状态图（Mermaid）")
    diagrams.add_argument("--output", default="docs/diagrams", help="输出目录")
    diagrams.add_argument("--check", action="store_true", help="只检查是否过期")
    diagrams.set_defaults(handler=cmd_diagrams)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except (DatabaseNotMigrated, DeclarationError) as error:
        print(str(error), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

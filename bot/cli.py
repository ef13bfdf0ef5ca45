"""The ``intake`` command: migrate the database, chat in the terminal, run the product, draw diagrams."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bot.app import Service, campaign_exporter, campaign_video_exporter, load_declarations, open_service
from bot.console import run_console
from bot.data_commands import add_data_commands
from bot.doctor import add_doctor_command
from bot.form_commands import add_form_commands
from bot.logs import configure_logging
from bot.mp_commands import MP_NOT_SET, write_invite_qr_code
from bot.mp_commands import check_setup as check_mp_setup
from bot.notice_commands import add_notice_commands
from bot.settings import Settings
from bot.telegram_service import TelegramUnavailable, serve, telegram_username
from bot.web import join_link, public_url, serve_web
from bot.wecom import CALLBACK_PATH, WeComChannel, check_setup
from dialogs.campaign import Campaign, UnitDecl
from dialogs.chinese_text import plain_number
from dialogs.declarations import DeclarationError
from dialogs.engine import system_clock
from dialogs.form_records import submission_record
from dialogs.invites import deep_link, issue_invite
from dialogs.nudges import send_due_nudges
from dialogs.privacy import TRIAL_NOTE
from dialogs.supervision import areas, pending_report, status_report
from renderers import (
    CITY_REPORTER,
    FORM_IDS,
    PreviewError,
    docx_to_pdf,
    pdf_to_pngs,
    render_form,
    sample_record,
)
from renderers.preview import write_previews
from renderers.registry import statistics_fed_by
from state_machines.diagrams import write_diagrams
from storage.backup import BackupError
from storage.database import (
    DatabaseNotMigrated,
    is_unavailable,
    is_unused,
    migrate,
    shown_database,
)

log = logging.getLogger("intake")

DATABASE_UNAVAILABLE = (
    "连不上数据库（数据库未启动、正在重启、被其他程序锁住，或数据库文件已被删除）。"
    "请检查 INTAKE_DATABASE_URL 和数据库服务后重试；已保存的内容不会丢失。"
)


def _settings(args: argparse.Namespace) -> Settings:
    return Settings().with_database(getattr(args, "db", None))


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
    print(f"数据库已就绪：{shown_database(settings.resolved_database_url())}")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    """The console channel: chat as one of a unit's contacts, one message per input line."""
    settings, user = _settings(args), args.user
    service = open_service(settings)
    unit_decl = _find_unit(service.campaign, args.unit)
    unit = service.repository.unit_by_code(service.campaign.id, unit_decl.code)
    assert unit is not None
    contact = service.repository.contact("console", user)
    if contact is None or contact.unit_id != unit.id:
        service.repository.bind_contact("console", user, unit.id)
    return run_console(service.engine, user, sys.stdin, sys.stdout)


def cmd_run(args: argparse.Namespace) -> int:
    """The product: Telegram (with the web chat beside it) when a token is set; else the web chat alone,
    on this computer, with invite codes printed so that someone can try it at once.

    Refuses to collect for a campaign whose retention date has passed (``--trial`` runs it as a
    clearly marked trial), and to start on an empty database beside a data folder of submissions."""
    settings = _settings(args)
    declarations = load_declarations(settings)
    if args.trial and settings.telegram_bot_token:
        print(TRIAL_IS_LOCAL, file=sys.stderr)
        return 2
    if declarations.campaign.retention_over(system_clock()) and not args.trial:
        print(_retention_over(settings, declarations.campaign), file=sys.stderr)
        return 2
    url = settings.resolved_database_url()
    stored = _stored_submissions(settings.data_dir)
    if stored and is_unused(url):
        print(FRESH_DATABASE_BESIDE_DATA.format(data_dir=settings.data_dir, files=stored), file=sys.stderr)
        return 2
    migrate(url)
    service = open_service(settings, trial=args.trial, declarations=declarations)
    if args.trial:
        print(f"【{TRIAL_NOTE}】")
    if settings.telegram_bot_token:
        print("正在启动 Telegram 渠道和网页版……（按 Ctrl+C 停止）")
        try:
            asyncio.run(serve(settings, service.engine))
        except TelegramUnavailable as error:
            print(str(error), file=sys.stderr)
            return 2
        return 0
    campaign = service.campaign
    print(f"{campaign.issuer}《{campaign.name}》报送助手（网页版，数据保存在 {settings.data_dir}/）")
    print(f"用手机或电脑浏览器打开：http://{settings.host}:{settings.port}/")
    if args.trial:  # a trial prints ready links; the real service prints no code (its log is kept)
        unit_decl = _find_unit(campaign, args.unit or campaign.units[0].code)
        unit = service.repository.unit_by_code(campaign.id, unit_decl.code)
        assert unit is not None
        now = service.clock()
        contact_code = issue_invite(service.repository, unit.id, role="contact", now=now).code
        supervisor_code = issue_invite(service.repository, None, role="supervisor", now=now).code
        print(f"· {unit_decl.name}联系人的邀请链接：{join_link(settings, contact_code)}")
        print(f"· {campaign.contact.department}的邀请链接：{join_link(settings, supervisor_code)}")
        print("其他单位的邀请码：intake invite 单位代码；在终端里填表：intake chat --unit 单位代码。")
    else:
        print(
            "邀请各单位联系人：intake invite 单位代码；"
            f"{campaign.contact.department}的账号：intake invite --supervisor。"
        )
    if settings.wecom_enabled:
        callback = public_url(settings, CALLBACK_PATH)
        print(f"企业微信已启用：回调地址 {callback}；成员在应用里发送“绑定 邀请码”即可开始。")
    print("按 Ctrl+C 停止。")
    asyncio.run(serve_web(settings, service.engine, asyncio.Event()))
    return 0


TRIAL_IS_LOCAL = (
    "试用模式只在本机运行网页版：设置了 TELEGRAM_BOT_TOKEN 时，试用的告知书会经 Telegram 发给真实的人。"
    "试用请去掉 TELEGRAM_BOT_TOKEN；正式运行请用今年的活动文件，不加 --trial。"
)
FRESH_DATABASE_BESIDE_DATA = (
    "数据目录 {data_dir}/ 里已有 {files} 份提交记录，"
    "但数据库是空的（没有提交，也没有绑定的联系人，或数据库不存在）——"
    "通常是数据库文件被删除或重建了，"
    "或 INTAKE_DATABASE_URL 指向了别的数据库。为免在旧数据旁边另起一个空数据库，服务没有启动。\n"
    "请从备份恢复：intake restore 备份文件.tar.gz（恢复到新建的空数据库），或改正 INTAKE_DATABASE_URL。"
    "确实要从头开始，请先把数据目录中的 submissions/ 和 files/ 移到别处。"
)


def _stored_submissions(data_dir: Path) -> int:
    """How many submission records the data folder holds (each version's JSON)."""
    folder = data_dir / "submissions"
    return sum(1 for _ in folder.rglob("*.json")) if folder.is_dir() else 0


def _retention_over(settings: Settings, campaign: Campaign) -> str:
    kept = campaign.personal_data_kept_until
    return (
        f"活动文件 {settings.campaign_file} 规定个人信息保存至 {kept.year}年{kept.month}月{kept.day}日，"
        "这个日期已经过了：用它收集，告知书上的删除日期就在过去，所以服务没有启动。\n"
        "正式使用：复制一份活动文件（如 campaigns/liuzhou-2021.toml），改成今年的通知、单位、名额、截止日期和"
        "保存期限，再设置 INTAKE_CAMPAIGN_FILE 指向它。\n"
        "只想试用：intake run --trial（或 make run），页面和告知书会标明“试用”。"
    )


def cmd_invite(args: argparse.Namespace) -> int:
    """Print a single-use invite code and the links that bind a chat to a unit (or to 组联部): the web
    chat's (on ``INTAKE_WEB_URL``, else the local address ``intake run`` serves) and Telegram's."""
    settings = _settings(args)
    service = open_service(settings)
    unit_id = None
    who = service.campaign.contact.department
    if not args.supervisor:
        if not args.unit:
            raise SystemExit(
                "请写上单位，例如：intake invite yufeng；组联部账号用：intake invite --supervisor"
            )
        unit_decl = _find_unit(service.campaign, args.unit)
        unit = service.repository.unit_by_code(service.campaign.id, unit_decl.code)
        assert unit is not None
        unit_id, who = unit.id, unit.name
    role = "supervisor" if args.supervisor else "contact"
    invite = issue_invite(service.repository, unit_id, role=role, now=service.clock(), valid_days=args.days)
    expires = invite.expires_at.astimezone(service.campaign.zone)
    print(f"{who} 的邀请码：{invite.code}（只能使用一次，{expires:%Y-%m-%d %H:%M} 前有效）")
    if args.qr is not None:
        target = Path(args.qr or f"invite-{invite.code}.png")
        if not write_invite_qr_code(settings, service, invite.code, args.days, target):
            return 1
    if args.wecom_user:
        if not settings.wecom_enabled:
            raise SystemExit(WECOM_NOT_SET)
        WeComChannel(settings, service.engine).offer_invite(args.wecom_user, invite.code)
        print(
            f"告知书已排入发往企业微信成员 {args.wecom_user} 的队列，服务运行时发出；对方点“同意”后即绑定。"
        )
        return 0
    print(f"网页版链接：{join_link(settings, invite.code)}")
    if not settings.web_url:
        print("（这是本机地址，intake run 运行时可用；要发给各单位，请先设置 INTAKE_WEB_URL 为对外网址。）")
    username = settings.telegram_bot_username or telegram_username(settings)
    if username:
        print(f"Telegram 链接：{deep_link(username, invite.code)}")
    print(f"在企业微信、公众号或 Telegram 的聊天中也可以发送：绑定 {invite.code}")
    return 0


WECOM_NOT_SET = (
    "企业微信还没有配置：请在 .env 中写入 WECOM_CORP_ID、WECOM_AGENT_ID、WECOM_SECRET、"
    "WECOM_TOKEN 和 WECOM_AES_KEY。"
)


def cmd_wecom_check(args: argparse.Namespace) -> int:
    """Check the 企业微信 settings against WeCom: the token, the app, the callback (the service must be
    running for the last)."""
    settings = _settings(args)
    if not settings.wecom_enabled:
        print(WECOM_NOT_SET, file=sys.stderr)
        return 2
    service = open_service(settings)
    results = check_setup(settings, service.repository, public_url(settings, CALLBACK_PATH))
    for passed, line in results:
        print(("✓ " if passed else "✗ ") + line)
    return 0 if all(passed for passed, _line in results) else 1


def cmd_mp_check(args: argparse.Namespace) -> int:
    """Check the 公众号 settings against the 公众号 API and the running callback (``bot.mp_commands``)."""
    settings = _settings(args)
    if not settings.wechat_mp_enabled:
        print(MP_NOT_SET, file=sys.stderr)
        return 2
    service = open_service(settings)
    results = check_mp_setup(settings, service.repository)
    for passed, line in results:
        print(("✓ " if passed else "✗ ") + line)
    return 0 if all(passed for passed, _line in results) else 1


def cmd_status(args: argparse.Namespace) -> int:
    """The same report 组联部 gets with /status (or /pending), printed here: for everyone, an area or
    (/status only) a unit."""
    service = open_service(_settings(args))
    campaign, now = service.campaign, service.clock()
    query = (args.which or "").strip()
    area = query if query in areas(campaign) else None
    if args.command == "pending":
        if query and area is None:
            raise SystemExit(f"没有“{query}”这个区域。可写的区域：{'、'.join(areas(campaign))}")
        print(pending_report(service.repository, campaign, service.forms, now, area).text())
        return 0
    unit_code = _find_unit(campaign, query).code if query and area is None else None
    print(status_report(service.repository, campaign, service.forms, now, unit_code, area).text())
    return 0


def cmd_render(args: argparse.Namespace) -> int:
    """Write an official form as DOCX: a sample, a stored submission, or the 统计表 of stored sites."""
    output = Path(args.output)
    if args.sample:
        if args.sample not in FORM_IDS:
            raise SystemExit(f"没有表单“{args.sample}”。可选：{'、'.join(FORM_IDS)}")
        with tempfile.TemporaryDirectory() as photos:
            content = render_form(sample_record(args.sample, Path(photos)))
    else:
        service = open_service(_settings(args))
        content = _render_stored(service, args)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(content)
    print(f"已生成：{output}")
    return 0


def _render_stored(service: Service, args: argparse.Namespace) -> bytes:
    campaign, repository = service.campaign, service.repository
    today = service.clock().astimezone(campaign.zone).date()
    if args.statistics:
        unit_code = None if args.statistics == "city" else _find_unit(campaign, args.statistics).code
        tables = [
            (form, statistics)
            for form in (service.forms[task.form] for task in campaign.tasks)
            if (statistics := statistics_fed_by(form)) is not None
        ]
        if not tables:
            raise SystemExit("本活动收集的表都没有统计表。")
        form, statistics = tables[0]  # the task whose records the 统计表 lists (the 示范点)
        codes = {u.id: u.code for u in repository.units(campaign.id)}
        records = [
            submission_record(campaign, form, codes[s.unit_id], v, repository.file_path)
            for s, v in repository.current_versions(campaign.id)
            if s.form_id == form.id and (unit_code is None or codes[s.unit_id] == unit_code)
        ]
        reporter = CITY_REPORTER if unit_code is None else campaign.unit(unit_code).name
        return statistics.render(reporter, records, today)
    number = plain_number(args.submission or "")
    if number is None:
        raise SystemExit(
            "请写上提交编号，例如：intake render 3 -o 3.docx；或用 --sample 表单 / --statistics city"
        )
    submission = repository.submission(number)
    if submission is None:
        raise SystemExit(f"没有编号为 {args.submission} 的提交。")
    version = repository.versions(submission.id or 0)[-1]
    unit = next(u for u in repository.units(campaign.id) if u.id == submission.unit_id)
    form = service.forms[submission.form_id]
    render = service.declarations.render  # imported forms print into their Word file
    return render(submission_record(campaign, form, unit.code, version, repository.file_path))


def cmd_preview(args: argparse.Namespace) -> int:
    """Turn a DOCX into PDF and PNG pages with LibreOffice (or every sample form, for docs/forms)."""
    output = Path(args.output)
    try:
        if args.samples:
            with tempfile.TemporaryDirectory() as work:
                pages = [p for p in write_previews(Path(work)) if p.suffix == ".png"]
                output.mkdir(parents=True, exist_ok=True)
                written = [Path(shutil.copy(page, output / page.name)) for page in pages]
        else:
            if not args.file:
                raise SystemExit("请写上要预览的 DOCX 文件，例如：intake preview 1-v1.docx")
            pdf = docx_to_pdf(Path(args.file), output)
            written = [pdf, *pdf_to_pngs(pdf, output)]
    except PreviewError as error:
        print(str(error), file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """The same ZIP 组联部 gets with /export: every current DOCX, the 统计表 and the 汇总.xlsx; and
    the courses' videos in a ZIP of their own, when any was sent."""
    service = open_service(_settings(args))
    notice = service.declarations.campaign, service.declarations.forms
    path = campaign_exporter(service.declarations, service.repository)(*notice, service.clock())
    if args.output:
        shutil.copyfile(path, args.output)
        path = Path(args.output)
    print(f"已导出：{path}")
    videos = campaign_video_exporter(service.declarations, service.repository)(*notice, service.clock())
    if videos is not None:
        print(f"课程视频：{videos}")
    return 0


def cmd_nudge(args: argparse.Namespace) -> int:
    """Queue the deadline reminders due now (the Telegram service does this every minute by itself)."""
    service = open_service(_settings(args))
    queued = send_due_nudges(service.repository, service.campaign, service.forms, service.clock())
    print(f"已排队 {queued} 条提醒。" if queued else "现在没有需要发送的提醒。")
    return 0


def cmd_contacts(args: argparse.Namespace) -> int:
    """List bound chat identities (ids and units only: no names are stored) or revoke one."""
    service = open_service(_settings(args))
    if args.revoke is not None:
        if not service.repository.revoke_contact(args.revoke):
            raise SystemExit(f"没有编号为 {args.revoke} 的联系人。")
        print(f"已解除 {args.revoke} 号联系人的绑定，其后发送的消息将被拒绝。")
        return 0
    for contact, unit in service.repository.contacts(service.campaign.id):
        who = unit.name if unit is not None else service.campaign.contact.department
        state = "" if contact.active else "（已解除）"
        bound = contact.consented_at or contact.created_at
        print(f"{contact.id:>4}  {contact.channel:<8} {who}{state}  绑定于 {bound:%Y-%m-%d}")
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

    run = commands.add_parser("run", help="启动服务：Telegram（设置了令牌时）和网页版")
    run.add_argument("--unit", help="为哪个单位打印第一个邀请码（默认第一个单位）")
    run.add_argument(
        "--trial",
        action="store_true",
        help="试用模式：本机试用数据，不用于正式报送（活动已过保存期限时也能运行）",
    )
    run.add_argument("--db", help="数据库地址")
    run.set_defaults(handler=cmd_run)

    invite = commands.add_parser("invite", help="生成邀请码（单位联系人或组联部账号绑定用）")
    invite.add_argument("unit", nargs="?", help="单位代码或名称，例如 yufeng")
    invite.add_argument("--supervisor", action="store_true", help="生成市妇联组联部账号的邀请码")
    invite.add_argument("--days", type=int, default=7, help="有效天数（默认7天）")
    invite.add_argument(
        "--wecom-user", help="直接把告知书发给这位企业微信成员（其 UserID），对方同意后即绑定"
    )
    invite.add_argument(
        "--qr",
        nargs="?",
        const="",
        metavar="PNG",
        help="同时生成公众号的带参数二维码（PNG，默认 invite-邀请码.png），扫码关注后回复“同意”即绑定",
    )
    invite.add_argument("--db", help="数据库地址")
    invite.set_defaults(handler=cmd_invite)

    wecom = commands.add_parser("wecom", help="企业微信：检查配置")
    wecom_commands = wecom.add_subparsers(dest="wecom_command", required=True)
    wecom_check = wecom_commands.add_parser("check", help="检查令牌、应用和回调地址（服务需在运行）")
    wecom_check.add_argument("--db", help="数据库地址")
    wecom_check.set_defaults(handler=cmd_wecom_check)

    mp = commands.add_parser("mp", help="公众号：检查配置")
    mp_commands = mp.add_subparsers(dest="mp_command", required=True)
    mp_check = mp_commands.add_parser("check", help="检查令牌、通知模板和回调地址（服务需在运行）")
    mp_check.add_argument("--db", help="数据库地址")
    mp_check.set_defaults(handler=cmd_mp_check)

    status = commands.add_parser("status", help="各单位报送进度（与组联部的 /status 相同）")
    status.add_argument("which", nargs="?", metavar="单位或区域", help="只看某个单位或某个区域（县区）")
    status.add_argument("--db", help="数据库地址")
    status.set_defaults(handler=cmd_status)

    pending = commands.add_parser("pending", help="尚未报齐的单位和任务（与 /pending 相同）")
    pending.add_argument("which", nargs="?", metavar="区域", help="只看某个区域（县区）")
    pending.add_argument("--db", help="数据库地址")
    pending.set_defaults(handler=cmd_status)

    render = commands.add_parser("render", help="生成正式表格（DOCX）：示例、已提交的表或统计表")
    render.add_argument("submission", nargs="?", help="提交编号")
    render.add_argument("--sample", metavar="FORM", help="用示例数据生成：" + "、".join(FORM_IDS))
    render.add_argument("--statistics", metavar="UNIT", help="统计表：单位代码，或 city（全市）")
    render.add_argument("-o", "--output", required=True, help="输出的 .docx 文件")
    render.add_argument("--db", help="数据库地址")
    render.set_defaults(handler=cmd_render)

    preview = commands.add_parser("preview", help="把 DOCX 转成 PDF 和 PNG 页面（需要 LibreOffice）")
    preview.add_argument("file", nargs="?", help="DOCX 文件")
    preview.add_argument("--samples", action="store_true", help="预览全部示例表格（只保留 PNG）")
    preview.add_argument("-o", "--output", default="preview", help="输出目录（默认 preview/）")
    preview.set_defaults(handler=cmd_preview)

    export = commands.add_parser("export", help="导出全部表格、统计表和汇总表（ZIP，与 /export 相同）")
    export.add_argument("-o", "--output", help="ZIP 文件（默认放在数据目录的 exports/ 中）")
    export.add_argument("--db", help="数据库地址")
    export.set_defaults(handler=cmd_export)

    nudge = commands.add_parser("nudge", help="立即检查并发送到期的截止提醒（服务运行时会自动发送）")
    nudge.add_argument("--db", help="数据库地址")
    nudge.set_defaults(handler=cmd_nudge)

    contacts = commands.add_parser("contacts", help="列出已绑定的联系人，或解除某人的绑定")
    contacts.add_argument("--revoke", type=int, metavar="ID", help="解除该编号联系人的绑定")
    contacts.add_argument("--db", help="数据库地址")
    contacts.set_defaults(handler=cmd_contacts)

    add_data_commands(commands)

    diagrams = commands.add_parser("diagrams", help="根据表单声明生成状态图（Mermaid）")
    diagrams.add_argument("--output", default="docs/diagrams", help="输出目录")
    diagrams.add_argument("--check", action="store_true", help="只检查是否过期")
    diagrams.set_defaults(handler=cmd_diagrams)

    add_form_commands(commands)
    add_notice_commands(commands)
    add_doctor_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging(
        logging.DEBUG if os.environ.get("INTAKE_LOG_LEVEL", "").upper() == "DEBUG" else logging.WARNING
    )
    args = build_parser().parse_args(argv)
    # Everything written from here on (the database and its WAL, uploads, records, exports, backups)
    # holds personal data: readable by this user only, whatever the umask the command was started with.
    os.umask(0o077)
    try:
        return int(args.handler(args))
    except (DatabaseNotMigrated, DeclarationError, BackupError) as error:
        print(str(error), file=sys.stderr)
        return 2
    except Exception as error:
        if not is_unavailable(error):
            raise
        print(DATABASE_UNAVAILABLE, file=sys.stderr)  # never the error's text: it may quote data
        return 3
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

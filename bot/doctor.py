"""``intake doctor``: a deployment checked the way ``intake run`` will use it, told in Chinese.

One line per check, ``✓`` or ``✗``; a ``✗`` says what to do. The checks: the settings themselves,
the campaign file (and the forms beside it), the database (reachable, migrated), the data folder
(writable, every file this user's), free disk, each configured channel (Telegram's getMe, 企业微信's
token, app and callback), the public address (reachable through the proxy, serving this service) and
the trusted proxy. The exit code is 1 when a check failed.

Nothing printed names a person or a secret: the database address is shown without its password, a
setting's value never (only its name), and no row of the database is read. The checks write nothing
that stays: the data folder is probed with a temporary that is removed at once (named as every
temporary is, so that a kill in between leaves it to the next start's sweep).
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import html
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from telegram import WebhookInfo
from telegram.error import TelegramError

from bot.app import Declarations, load_declarations
from bot.settings import Settings
from bot.telegram_service import TelegramUnavailable, start_bot, webhook_url
from bot.web_app import public_url
from bot.wecom import CALLBACK_PATH, check_setup
from dialogs.declarations import DeclarationError
from dialogs.engine import system_clock
from storage.database import (
    DatabaseNotMigrated,
    check_migrated,
    database_health,
    is_unavailable,
    make_engine,
    shown_database,
)
from storage.temporaries import temporary_prefix

DISK_LEAST_FREE = 2 * 1024**3  # bytes: a few course videos (300 MB each) and a night's backup
HTTP_TIMEOUT = 10.0  # seconds for each request to the public address
DATABASE_CONNECT_TIMEOUT = "10"  # seconds (libpq's PGCONNECT_TIMEOUT), so that a silent host fails soon
WEBHOOK_ERROR_RECENT = timedelta(hours=1)  # a webhook error older than this is history, not a fault
DETAIL_LINES = 12  # at most this many lines of an error's own text under its ✗
SERVICE_USER = "intake"  # the user docs/DEPLOY.md creates; named in the advice only
WECOM_SETTINGS = ("WECOM_CORP_ID", "WECOM_AGENT_ID", "WECOM_SECRET", "WECOM_TOKEN", "WECOM_AES_KEY")


@dataclass(frozen=True)
class Check:
    """One check's outcome: ``line`` says what was found and, when it failed, what to do; ``detail``
    is an error's own text (a campaign file's mistakes), printed indented under it."""

    passed: bool
    line: str
    detail: str = ""


def passed(line: str) -> Check:
    return Check(True, line)


def failed(line: str, detail: str = "") -> Check:
    return Check(False, line, detail)


class DiskUsage(NamedTuple):
    total: int
    used: int
    free: int


# The checks -----------------------------------------------------------------------------------------


def settings_check(read: Callable[[], Settings] = Settings) -> tuple[Settings | None, Check]:
    """The settings as ``intake run`` reads them; a wrong one named by its variable, never its value
    (it may be a secret)."""
    try:
        return read(), passed("配置：各项设置的格式正确")
    except ValidationError as error:
        names = "、".join(_variable(str(problem["loc"][0])) for problem in error.errors() if problem["loc"])
        return None, failed(
            f"配置：{names} 的值格式不对（值不在此显示）。"
            "请对照 deploy/intake.env.example 改正 /etc/intake/intake.env。"
        )


def _variable(where: str) -> str:
    """The environment variable a setting is read from: a setting with an alias is reported under it
    (``WECOM_AES_KEY``), any other under its field's name, which takes the ``INTAKE_`` prefix."""
    info = Settings.model_fields.get(where)
    if info is None or isinstance(info.validation_alias, str):
        return where.upper()
    return f"INTAKE_{where.upper()}"


def campaign_check(settings: Settings) -> tuple[Declarations | None, Check]:
    """The campaign file and its forms, loaded and checked as at start-up; and not past its date."""
    try:
        declarations = load_declarations(settings)
    except DeclarationError as error:
        detail = "\n".join(str(error).splitlines()[:DETAIL_LINES])
        return None, failed(
            f"活动文件 {settings.campaign_file} 有错误，服务不会启动。"
            "请按下面的说明改正后再运行 intake doctor：",
            detail,
        )
    except OSError as error:  # a file beside it (a form's Word template) the service user cannot read
        return None, failed(
            f"活动文件 {settings.campaign_file} 或它旁边 forms/ 中的文件读不了（{type(error).__name__}）。"
            f"请让运行服务的用户能读它们：chown -R root:{SERVICE_USER} {settings.campaign_file.parent}，"
            "目录 0750、文件 0640。"
        )
    campaign = declarations.campaign
    if campaign.retention_over(system_clock()):
        kept = campaign.personal_data_kept_until
        return declarations, failed(
            f"活动文件 {settings.campaign_file} 规定个人信息保存至 {kept}，"
            "这个日期已经过了，intake run 不会启动。"
            "请复制一份，改成今年的通知、单位、截止日期和保存期限，再让 INTAKE_CAMPAIGN_FILE 指向它。"
        )
    return declarations, passed(
        f"活动文件 {settings.campaign_file}：《{campaign.name}》，{len(campaign.units)} 个单位，"
        f"{len(campaign.tasks)} 项任务，表单均可用"
    )


def database_check(settings: Settings) -> Check:
    """The database answers and is at the code's schema. An SQLite file that is not there is not made
    (opening it would create an empty one beside the data)."""
    url = settings.resolved_database_url()
    shown = shown_database(url)
    path = _sqlite_file(url)
    if path is not None and not path.is_file():
        return failed(
            f"数据库文件 {path} 不存在。新安装请运行 intake migrate；原有的数据请用 intake restore 从备份恢复"
            "（并检查 INTAKE_DATA_DIR、INTAKE_DATABASE_URL 是否指向原来的位置）。"
        )
    os.environ.setdefault("PGCONNECT_TIMEOUT", DATABASE_CONNECT_TIMEOUT)
    try:
        engine = make_engine(url)
    except Exception as error:  # its text may quote the address, password and all
        return failed(f"INTAKE_DATABASE_URL 写法不对（{type(error).__name__}）：例如 {EXAMPLE_DATABASE_URL}")
    try:
        database_health(engine)
        check_migrated(engine)
    except DatabaseNotMigrated as error:
        return failed(f"数据库 {shown} 可以连接，但{str(error).removeprefix('数据库')}")
    except Exception as error:
        if not is_unavailable(error):
            return failed(
                f"数据库 {shown} 出错（{type(error).__name__}）。SQLite 文件可能已损坏：请停止服务，"
                "用 intake restore 从最近的备份恢复到新的数据库。"
            )
        return failed(
            f"连不上数据库 {shown}（{type(error).__name__}）。"
            "请确认数据库服务在运行（systemctl status postgresql），"
            "INTAKE_DATABASE_URL 的主机、端口、用户名、密码和库名正确。"
        )
    finally:
        engine.dispose()
    return passed(f"数据库 {shown}：可以连接，已是程序需要的版本")


EXAMPLE_DATABASE_URL = "postgresql+psycopg://intake:密码@127.0.0.1:5432/intake"


def _sqlite_file(url: str) -> Path | None:
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    return Path(database) if database and database != ":memory:" else None


def data_folder_check(data_dir: Path) -> Check:
    """The data folder exists, takes a file, and holds nothing of another user's (a root-run
    ``intake restore`` leaves files the service cannot read)."""
    folder = data_dir.resolve()
    if not folder.is_dir():
        return failed(
            f"数据目录 {folder} 不存在。请建立它并交给运行服务的用户，"
            f"例如：install -d -o {SERVICE_USER} -g {SERVICE_USER} -m 0700 {folder}"
        )
    probe = folder / f"{temporary_prefix()}doctor"
    try:
        with open(probe, "wb") as stream:
            stream.write(b"intake doctor")
            stream.flush()
            os.fsync(stream.fileno())
    except OSError as error:
        if error.errno == errno.EROFS:
            return failed(
                f"数据目录 {folder} 所在的文件系统是只读的。用 systemd 运行时，"
                "请在 intake.service 的 ReadWritePaths= 中写上这个目录。"
            )
        return failed(
            f"数据目录 {folder} 不能写入（{errno.errorcode.get(error.errno or 0, 'OSError')}）。"
            f"请把它交给运行服务的用户：chown -R {SERVICE_USER}:{SERVICE_USER} {folder}"
        )
    finally:
        probe.unlink(missing_ok=True)
    others = sum(1 for path in _everything_in(folder) if path.lstat().st_uid != os.geteuid())
    if others:
        return failed(
            f"数据目录 {folder} 中有 {others} 个文件或目录属于别的用户（例如用 root 运行过 intake restore），"
            f"服务读不了它们。请运行：chown -R {SERVICE_USER}:{SERVICE_USER} {folder}"
        )
    return passed(f"数据目录 {folder}：可以写入")


def _everything_in(folder: Path) -> Iterator[Path]:
    for root, folders, files in os.walk(folder):
        for name in (*folders, *files):
            yield Path(root) / name


def disk_check(data_dir: Path, usage: DiskUsage | None = None) -> Check:
    """Room left where the data folder is (photos, videos, records, exports, and backups beside)."""
    where = data_dir.resolve()
    while not where.exists() and where != where.parent:
        where = where.parent
    free = (usage or DiskUsage(*shutil.disk_usage(where))).free
    if free < DISK_LEAST_FREE:
        return failed(
            f"磁盘：数据目录所在分区只剩 {_gigabytes(free)}，少于 {_gigabytes(DISK_LEAST_FREE)}。"
            "课程视频每个可达 300 MB，每晚的备份也要空间：请删除过旧的备份或扩容。"
        )
    return passed(f"磁盘：数据目录所在分区还剩 {_gigabytes(free)}")


def _gigabytes(size: int) -> str:
    return f"{size / 1024**3:.1f} GB"


def telegram_checks(settings: Settings) -> list[Check]:
    """getMe at the configured Bot API address; with a webhook, the address Telegram holds for it and
    the last error Telegram met there. Nothing when Telegram is not configured."""
    if not settings.telegram_bot_token:
        return []

    async def ask() -> tuple[str, WebhookInfo | None]:
        bot = await start_bot(settings)
        try:
            webhook = await bot.get_webhook_info() if settings.telegram_webhook_url else None
            return str(bot.username), webhook
        finally:
            await bot.shutdown()

    try:
        username, webhook = asyncio.run(ask())
    except TelegramUnavailable as error:
        return [failed(f"Telegram：{error}")]
    except TelegramError as error:
        return [
            failed(
                f"Telegram：Bot API 返回错误（{type(error).__name__}）。"
                f"请检查 TELEGRAM_BOT_TOKEN 和 TELEGRAM_API_BASE_URL（{settings.telegram_api_base_url}）。"
            )
        ]
    checks = [passed(f"Telegram：机器人 @{username} 应答正常（{settings.telegram_api_base_url}）")]
    if webhook is not None:
        checks.append(_webhook_check(webhook_url(settings), webhook))
    return checks


def _webhook_check(expected: str, webhook: WebhookInfo) -> Check:
    if webhook.url != expected:
        held = webhook.url or "空的（用长轮询）"
        return failed(
            f"Telegram 的 webhook：Telegram 记录的地址是 {held}，不是 {expected}。"
            "服务启动时才设置它：请 systemctl restart intake。"
        )
    last_error = webhook.last_error_date
    if last_error is not None and datetime.now(UTC) - last_error < WEBHOOK_ERROR_RECENT:
        return failed(
            f"Telegram 的 webhook：Telegram 最近一次推送失败（{last_error:%Y-%m-%d %H:%M} UTC，"
            f"{webhook.last_error_message or '没有说明'}）。"
            "请检查 nginx 中 /telegram/webhook 一节和服务是否在运行。"
        )
    return passed(f"Telegram 的 webhook：{expected}，Telegram 推送正常")


def wecom_checks(settings: Settings) -> list[Check]:
    """企业微信: all five settings or none; the token, the app and the callback through the public
    address, as ``intake wecom check`` does (with the token kept in memory, not in the database)."""
    given = {name: bool(getattr(settings, name.lower())) for name in WECOM_SETTINGS}
    if not any(given.values()):
        return []
    if not all(given.values()):
        missing = "、".join(name for name, value in given.items() if not value)
        return [failed(f"企业微信：只配置了一部分，还缺 {missing}；五项齐全才启用企业微信。")]
    results = check_setup(settings, None, public_url(settings, CALLBACK_PATH))
    return [Check(ok, f"企业微信 {line}") for ok, line in results]


def public_address_checks(settings: Settings, declarations: Declarations | None) -> list[Check]:
    """INTAKE_WEB_URL: set, HTTPS (unless on this computer), reachable, and serving this service (the
    web chat's page, naming this campaign's contact); and the proxy in front of it trusted."""
    web_url = settings.web_url.rstrip("/")
    if not web_url:
        return [
            failed(
                "公网地址：未设置 INTAKE_WEB_URL。邀请链接、企业微信里的网页链接和下载链接都要用它："
                "请设为 nginx 提供的 https:// 地址，例如 https://intake.example.gov.cn"
            )
        ]
    parts = urlsplit(web_url)
    if parts.scheme != "https" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return [
            failed(
                f"公网地址 {web_url} 不是 https://：登录凭据和个人信息会明文传输。"
                "请按 docs/DEPLOY.md 配好 nginx 和证书，把 INTAKE_WEB_URL 改成 https:// 地址。"
            )
        ]
    checks = [_public_page_check(web_url, declarations)]
    if not settings.trusted_proxies.strip():
        checks.append(
            failed(
                "反向代理：未设置 INTAKE_TRUSTED_PROXIES。在 nginx 之后，所有访问都会算作 nginx 的地址"
                "（输错邀请码的限制会挡住所有人）：请设为 127.0.0.1（nginx 在本机时）。"
            )
        )
    else:
        checks.append(passed(f"反向代理：只相信 {settings.trusted_proxies} 转发的访问者地址"))
    return checks


def _public_page_check(web_url: str, declarations: Declarations | None) -> Check:
    try:
        with httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False) as client:
            health = client.get(f"{web_url}/healthz")
            page = client.get(f"{web_url}/") if health.status_code == 200 else None
    except httpx.HTTPError as error:
        if "CERTIFICATE" in str(error).upper():
            return failed(
                f"公网地址 {web_url} 的证书无效（过期、不含这个域名或不完整）。"
                "请检查 nginx 的 ssl_certificate（应为完整证书链）和证书的有效期。"
            )
        return failed(
            f"公网地址 {web_url} 连不上（{type(error).__name__}）。请检查 nginx 是否在运行"
            "（systemctl status nginx；nginx -t）、域名解析和防火墙（443 端口）。"
        )
    if health.status_code in (502, 504):
        return failed(
            f"公网地址 {web_url} 应答 {health.status_code}：nginx 在运行，但服务没有运行或 proxy_pass 的端口"
            "与 INTAKE_PORT 不一致。请查看 systemctl status intake 和 journalctl -u intake。"
        )
    if health.status_code == 503:
        return failed(
            f"公网地址 {web_url} 应答 503：服务在运行，但数据库不可用"
            "（见上面数据库一行；journalctl -u intake）。"
        )
    if page is None or page.status_code != 200 or health.text != "ok" or not _our_page(page, declarations):
        return failed(
            f"公网地址 {web_url} 上不是本服务（或不是这个活动的服务）："
            "请检查 nginx 的 server_name 和 proxy_pass，"
            "以及服务的 INTAKE_CAMPAIGN_FILE。"
        )
    return passed(f"公网地址 {web_url}：可以访问，是本服务")


def _our_page(page: httpx.Response, declarations: Declarations | None) -> bool:
    """The web chat's page, naming this campaign's contact when the campaign could be loaded."""
    text = html.unescape(page.text)
    if 'name="intake-state"' not in text:
        return False
    return declarations is None or declarations.campaign.contact.line() in text


# The command ----------------------------------------------------------------------------------------


def diagnose(database_url: str | None = None) -> list[Check]:
    """Every check, in the order a deployer fixes things; with ``database_url``, that database."""
    settings, read = settings_check()
    if settings is None:
        return [read]
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    declarations, campaign = campaign_check(settings)
    checks = [read, campaign, database_check(settings), data_folder_check(settings.data_dir)]
    checks.append(disk_check(settings.data_dir))
    checks += telegram_checks(settings)
    checks += wecom_checks(settings)
    checks += public_address_checks(settings, declarations)
    return checks


def report(checks: list[Check]) -> str:
    """The checks as printed: a line each, an error's own text indented under its line, a summary."""
    lines = []
    if os.geteuid() == 0:
        lines.append(
            f"（注意：以 root 运行，看不出服务的用户能否读写。"
            f"请用 {SERVICE_USER} 用户运行，见 docs/DEPLOY.md。）"
        )
    for check in checks:
        lines.append(("✓ " if check.passed else "✗ ") + check.line)
        lines += [f"    {line}" for line in check.detail.splitlines()]
    wrong = sum(1 for check in checks if not check.passed)
    if wrong:
        lines.append(
            f"{len(checks)} 项检查中有 {wrong} 项未通过：请按 ✗ 后的说明处理，再运行 intake doctor。"
        )
    else:
        lines.append(f"全部 {len(checks)} 项检查通过。")
    return "\n".join(lines)


def cmd_doctor(args: argparse.Namespace) -> int:
    checks = diagnose(args.db)
    print(report(checks))
    return 0 if all(check.passed for check in checks) else 1


def add_doctor_command(commands: Any) -> None:
    """``intake doctor`` among the ``intake`` command's subcommands."""
    doctor = commands.add_parser(
        "doctor", help="检查部署：配置、活动文件、数据库、数据目录、磁盘、各渠道和公网地址"
    )
    doctor.add_argument("--db", help="数据库地址")
    doctor.set_defaults(handler=cmd_doctor)

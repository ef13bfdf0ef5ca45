"""``intake doctor`` as a deployer runs it, as its own process: on a healthy deployment (the real
``intake run`` on loopback with 企业微信 on the fake WeCom and Telegram on the Bot API emulator) every
line is ✓ and the exit code 0; then each part broken alone — no database, a database not migrated,
a read-only data folder, a broken campaign file, a channel answering an error, the public address
unreachable — gives its own ✗ line in Chinese saying what to do, the other checks still ✓, and the
exit code 1. No secret and no password is ever printed. Last, deploy/nginx-intake.conf in front of
the same service, for real: the doctor passes over HTTPS through it."""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.doctor import DISK_LEAST_FREE, DiskUsage, disk_check
from dialogs.campaign import DEFAULT_CAMPAIGN
from storage.database import migrate
from tests.telegram_emulator import Emulator, start_emulator
from tests.test_deploy_files import NGINX, SITE, nginx_test_config
from tests.test_service_under_fire import ROOT, Service, service_env
from tests.test_web_api import free_port, serving
from tests.test_wecom import wecom_env
from tests.wecom_fake.server import FakeWeCom

DATABASE_PASSWORD = "pw-never-shown-7Q"


@dataclass
class Deployment:
    service: Service
    wecom: FakeWeCom
    wecom_base: str
    emulator: Emulator

    @property
    def env(self) -> dict[str, str]:
        return self.service.env

    @property
    def secrets(self) -> list[str]:
        return [
            self.wecom.secret,
            self.wecom.aes_key,
            self.wecom.token,
            self.emulator.token,
            DATABASE_PASSWORD,
        ]


@pytest.fixture(name="deployment", scope="module")
def deployment_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """One running deployment for the module: each test changes one setting of the doctor's own
    environment, never the service's."""
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed: the Telegram emulator needs `node` (and npm once)")
    tmp_path = tmp_path_factory.mktemp("deployment")
    fake = FakeWeCom()
    emulator = start_emulator()
    try:
        with serving(fake.app()) as wecom_base:
            env = service_env(tmp_path)
            env.update(wecom_env(fake, wecom_base))
            env.update(
                TELEGRAM_BOT_TOKEN=emulator.token,
                TELEGRAM_API_BASE_URL=emulator.base_url,
                TELEGRAM_FILE_BASE_URL=emulator.base_file_url,
                INTAKE_WEB_URL=f"http://127.0.0.1:{env['INTAKE_PORT']}",
                INTAKE_TRUSTED_PROXIES="127.0.0.1",
                INTAKE_LOG_LEVEL="INFO",
            )
            migrate(f"sqlite:///{tmp_path / 'data' / 'intake.db'}")
            service = Service(env, tmp_path / "service.log")
            service.start()
            try:
                yield Deployment(service, fake, wecom_base, emulator)
            finally:
                service.stop()
    finally:
        emulator.stop()


def doctor(
    deployment: Deployment, *, prefix: tuple[str, ...] = (), **changes: str | None
) -> subprocess.CompletedProcess[str]:
    """``intake doctor`` with the service's settings, ``changes`` applied (None: unset)."""
    env = dict(deployment.env)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    result = subprocess.run(
        [*prefix, sys.executable, "-m", "bot.cli", "doctor"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in result.stderr, result.stderr
    for secret in deployment.secrets:
        assert secret not in result.stdout + result.stderr, "a secret was printed"
    return result


def as_file_owner() -> tuple[str, ...]:
    """What runs a command as a user whom file modes stop: as root, root without the capabilities
    that ignore them (as a service user is); anyone else as they are."""
    return ("setpriv", "--bounding-set=-dac_override,-dac_read_search", "--") if os.geteuid() == 0 else ()


def failures(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith("✗")]


def the_line(result: subprocess.CompletedProcess[str], start: str) -> str:
    """The one line of the report that begins with ``start``."""
    found = [line for line in result.stdout.splitlines() if line.startswith(start)]
    assert len(found) == 1, f"no single line starting {start!r}:\n{result.stdout}"
    return found[0]


def test_a_healthy_deployment_passes_every_check(deployment: Deployment) -> None:
    result = doctor(deployment)
    assert result.returncode == 0, result.stdout
    assert failures(result) == []
    web_url = deployment.env["INTAKE_WEB_URL"]
    assert "《" in the_line(result, "✓ 活动文件 ") and "个单位" in the_line(result, "✓ 活动文件 ")
    assert the_line(result, "✓ 数据库 sqlite:///").endswith("可以连接，已是程序需要的版本")
    the_line(result, "✓ 数据目录 ")
    the_line(result, "✓ 磁盘：")
    assert "@fulian_test_bot 应答正常" in the_line(result, "✓ Telegram：")
    assert "妇联报送助手" in the_line(result, "✓ 企业微信 应用：")
    assert (
        the_line(result, "✓ 企业微信 回调地址：") == f"✓ 企业微信 回调地址：{web_url}/wecom/callback 应答正确"
    )
    assert the_line(result, "✓ 公网地址 ") == f"✓ 公网地址 {web_url}：可以访问，是本服务"
    the_line(result, "✓ 反向代理：")
    checks = [line for line in result.stdout.splitlines() if line[:2] in ("✓ ", "✗ ")]
    assert result.stdout.rstrip().endswith(f"全部 {len(checks)} 项检查通过。")


def test_no_database(deployment: Deployment) -> None:
    closed = f"postgresql+psycopg://intake:{DATABASE_PASSWORD}@127.0.0.1:{free_port()}/intake"
    result = doctor(deployment, INTAKE_DATABASE_URL=closed)
    assert result.returncode == 1
    [line] = failures(result)
    assert line.startswith(
        f"✗ 连不上数据库 postgresql+psycopg://intake:***@127.0.0.1:{closed.rsplit(':', 1)[1]}"
    )
    assert "请确认数据库服务在运行" in line and "INTAKE_DATABASE_URL" in line
    assert "项未通过" in result.stdout.splitlines()[-1]


def test_a_database_not_migrated_or_missing(deployment: Deployment, tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    with sqlite3.connect(empty) as connection:
        connection.execute("CREATE TABLE unrelated (x)")
    result = doctor(deployment, INTAKE_DATABASE_URL=f"sqlite:///{empty}")
    assert result.returncode == 1
    assert failures(result) == [
        f"✗ 数据库 sqlite:///{empty} 可以连接，但尚未初始化。请先运行：intake migrate"
    ]
    missing = tmp_path / "gone.db"
    result = doctor(deployment, INTAKE_DATABASE_URL=f"sqlite:///{missing}")
    [line] = failures(result)
    assert line.startswith(f"✗ 数据库文件 {missing} 不存在。新安装请运行 intake migrate；")
    assert "intake restore" in line
    assert not missing.exists(), "the doctor made no empty database"


def test_a_read_only_data_folder(deployment: Deployment, tmp_path: Path) -> None:
    """The data folder the service cannot write to (as root, whom permissions do not stop, the
    doctor runs without CAP_DAC_OVERRIDE, as an unprivileged service user would)."""
    folder = tmp_path / "data"
    folder.mkdir()
    folder.chmod(0o500)
    service_database = f"sqlite:///{Path(deployment.env['INTAKE_DATA_DIR']) / 'intake.db'}"
    result = doctor(
        deployment, prefix=as_file_owner(), INTAKE_DATA_DIR=str(folder), INTAKE_DATABASE_URL=service_database
    )
    assert result.returncode == 1
    assert failures(result) == [
        f"✗ 数据目录 {folder} 不能写入（EACCES）。请把它交给运行服务的用户：chown -R intake:intake {folder}"
    ]
    assert list(folder.iterdir()) == []


def test_a_data_folder_holding_another_users_files(deployment: Deployment, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can give a file to another user")
    folder = tmp_path / "data"
    (folder / "files").mkdir(parents=True)
    (folder / "files" / "photo.jpg").write_bytes(b"x")
    os.chown(folder / "files" / "photo.jpg", 65534, 65534)
    service_database = f"sqlite:///{Path(deployment.env['INTAKE_DATA_DIR']) / 'intake.db'}"
    result = doctor(deployment, INTAKE_DATA_DIR=str(folder), INTAKE_DATABASE_URL=service_database)
    [line] = failures(result)
    assert line.startswith(f"✗ 数据目录 {folder} 中有 1 个文件或目录属于别的用户")
    assert line.endswith(f"chown -R intake:intake {folder}")


def test_a_broken_campaign_file(deployment: Deployment, tmp_path: Path) -> None:
    current = Path(deployment.env["INTAKE_CAMPAIGN_FILE"]).read_text(encoding="utf-8")
    broken = tmp_path / "campaign.toml"
    broken.write_text(current.replace('form = "course_recommendation"', 'form = "no_such_form"', 1), "utf-8")
    result = doctor(deployment, INTAKE_CAMPAIGN_FILE=str(broken))
    assert result.returncode == 1
    [line] = failures(result)
    assert line == f"✗ 活动文件 {broken} 有错误，服务不会启动。请按下面的说明改正后再运行 intake doctor："
    detail = result.stdout.split(line, 1)[1].splitlines()[1]
    assert detail.startswith("    ") and "no_such_form" in detail, result.stdout
    # A campaign file the service's user cannot read (root: without the capability that ignores modes).
    broken.write_text(current, "utf-8")
    broken.chmod(0o000)
    unreadable = doctor(deployment, prefix=as_file_owner(), INTAKE_CAMPAIGN_FILE=str(broken))
    assert failures(unreadable) == [line]
    detail = unreadable.stdout.split(line, 1)[1].splitlines()[1]
    assert f"读不了 {broken}（Permission denied）：请检查文件权限" in detail, unreadable.stdout
    # A campaign past its retention date: intake run refuses it, and so says the doctor.
    expired = doctor(deployment, INTAKE_CAMPAIGN_FILE=str(DEFAULT_CAMPAIGN))
    [line] = failures(expired)
    assert line.startswith(f"✗ 活动文件 {DEFAULT_CAMPAIGN} 规定个人信息保存至 2022-06-30，这个日期已经过了")


def test_a_channel_answering_an_error(deployment: Deployment) -> None:
    wrong_secret = doctor(deployment, WECOM_SECRET="not-the-apps-secret")
    assert wrong_secret.returncode == 1
    assert failures(wrong_secret) == [
        "✗ 企业微信 企业微信拒绝：应用 Secret（WECOM_SECRET）不对，请在应用详情页重新查看。"
    ]
    assert "not-the-apps-secret" not in wrong_secret.stdout
    wrong_token = doctor(deployment, TELEGRAM_BOT_TOKEN="123456:not-the-bots-token")
    assert failures(wrong_token) == [
        "✗ Telegram：TELEGRAM_BOT_TOKEN 不正确（Telegram 不认这个令牌），请向 @BotFather 核对。"
    ]
    assert "not-the-bots-token" not in wrong_token.stdout
    # A webhook set in the settings but not at Telegram (the service polls: it was not restarted).
    hooked = doctor(deployment, TELEGRAM_WEBHOOK_URL=deployment.env["INTAKE_WEB_URL"])
    assert failures(hooked) == [
        "✗ Telegram 的 webhook：Telegram 记录的地址是 空的（用长轮询），不是 "
        f"{deployment.env['INTAKE_WEB_URL']}/telegram/webhook。"
        "服务启动时才设置它：请 systemctl restart intake。"
    ]
    # Set at Telegram (here by hand, for a moment: the running service polls), it passes.
    api = f"{deployment.emulator.base_url}{deployment.emulator.token}"
    web_url = deployment.env["INTAKE_WEB_URL"]
    assert httpx.post(f"{api}/setWebhook", data={"url": f"{web_url}/telegram/webhook"}).json()["ok"]
    try:
        set_there = doctor(deployment, TELEGRAM_WEBHOOK_URL=web_url)
    finally:
        assert httpx.post(f"{api}/deleteWebhook").json()["ok"]
    assert failures(set_there) == [] and the_line(set_there, "✓ Telegram 的 webhook：")
    half = doctor(deployment, WECOM_AES_KEY=None, WECOM_TOKEN="")
    assert failures(half) == [
        "✗ 企业微信：只配置了一部分，还缺 WECOM_TOKEN、WECOM_AES_KEY；五项齐全才启用企业微信。"
    ]


def test_the_public_address_unreachable_or_not_this_service(deployment: Deployment) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    result = doctor(deployment, INTAKE_WEB_URL=closed)
    assert result.returncode == 1
    public, callback = the_line(result, "✗ 公网地址 "), the_line(result, "✗ 企业微信 回调地址 ")
    assert failures(result) == [callback, public]
    assert public.startswith(f"✗ 公网地址 {closed} 连不上（ConnectError）。请检查 nginx 是否在运行")
    assert callback.startswith(f"✗ 企业微信 回调地址 {closed}/wecom/callback 连不上")
    # Another site at the address (here: the fake WeCom's server).
    other = doctor(deployment, INTAKE_WEB_URL=deployment.wecom_base)
    assert the_line(other, "✗ 公网地址 ").startswith(f"✗ 公网地址 {deployment.wecom_base} 上不是本服务")
    unset = doctor(deployment, INTAKE_WEB_URL="")
    assert the_line(unset, "✗ 公网地址：未设置 INTAKE_WEB_URL")
    plain = doctor(deployment, INTAKE_WEB_URL="http://intake.example.gov.cn")
    assert the_line(plain, "✗ 公网地址 http://intake.example.gov.cn 不是 https://")
    untrusted = doctor(deployment, INTAKE_TRUSTED_PROXIES="")
    assert failures(untrusted) == [the_line(untrusted, "✗ 反向代理：未设置 INTAKE_TRUSTED_PROXIES")]


def test_a_malformed_setting_is_named_without_its_value(deployment: Deployment) -> None:
    result = doctor(deployment, WECOM_AES_KEY="far-too-short-key-value", INTAKE_PORT="八〇八〇")
    assert result.returncode == 1
    [line] = failures(result)
    assert re.match(r"✗ 配置：(INTAKE_PORT、WECOM_AES_KEY|WECOM_AES_KEY、INTAKE_PORT) 的值格式不对", line), (
        line
    )
    assert "far-too-short-key-value" not in result.stdout and "八〇八〇" not in result.stdout


@pytest.mark.parametrize(
    ("free", "passes"),
    [(1024**3, False), (DISK_LEAST_FREE - 1, False), (DISK_LEAST_FREE, True), (50 * 1024**3, True)],
)
def test_free_disk_below_the_threshold_fails(tmp_path: Path, free: int, passes: bool) -> None:
    check = disk_check(tmp_path, DiskUsage(total=100 * 1024**3, used=0, free=free))
    assert check.passed is passes
    if not passes:
        assert check.line.startswith(f"磁盘：数据目录所在分区只剩 {free / 1024**3:.1f} GB，少于 2.0 GB")
        assert "请删除过旧的备份或扩容" in check.line


@pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (Debian package nginx; .ci/run installs it)"
)
def test_a_healthy_deployment_behind_the_nginx_site_passes_every_check(
    deployment: Deployment, tmp_path: Path
) -> None:
    """deploy/nginx-intake.conf for real, in front of the running service (on free ports, with a
    certificate made here and trusted by the doctor): the public address over HTTPS serves this
    service, and 企业微信's callback reaches it through nginx."""
    site = SITE.read_text(encoding="utf-8").replace(
        "server 127.0.0.1:8080;", f"server 127.0.0.1:{deployment.service.port};"
    )
    http_port, https_port = free_port(), free_port()
    config = nginx_test_config(tmp_path, site, ports=(http_port, https_port))
    if os.geteuid() == 0:  # workers as root too: the test's folders are root's alone
        config.write_text("user root;\n" + config.read_text(encoding="utf-8"), encoding="utf-8")
    logs = tmp_path / "logs" / "error.log"
    nginx = subprocess.Popen(
        [str(NGINX), "-c", str(config), "-p", f"{tmp_path}/", "-e", str(logs), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not _listening(https_port):
            assert nginx.poll() is None, nginx.communicate()[1]
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.1)
        web_url = f"https://127.0.0.1:{https_port}"
        certificate = str(tmp_path / "fullchain.pem")
        result = doctor(
            deployment, INTAKE_WEB_URL=web_url, SSL_CERT_FILE=certificate, REQUESTS_CA_BUNDLE=certificate
        )
        assert result.returncode == 0, result.stdout + logs.read_text(encoding="utf-8")
        assert the_line(result, "✓ 公网地址 ") == f"✓ 公网地址 {web_url}：可以访问，是本服务"
        assert the_line(result, "✓ 企业微信 回调地址：").startswith(
            f"✓ 企业微信 回调地址：{web_url}/wecom/callback"
        )
        # Plain HTTP is sent to HTTPS; a certificate the doctor does not trust is named as the problem.
        redirect = httpx.get(f"http://127.0.0.1:{http_port}/join?code=X", follow_redirects=False)
        assert redirect.status_code == 301 and redirect.headers["location"].startswith("https://")
        untrusted = doctor(deployment, INTAKE_WEB_URL=web_url)
        assert the_line(untrusted, "✗ 公网地址 ").startswith(f"✗ 公网地址 {web_url} 的证书无效")
        access_log = (tmp_path / "logs" / "intake.access.log").read_text(encoding="utf-8")
        assert "/join " in access_log and "code=" not in access_log, "no invite code in nginx's log"
    finally:
        nginx.terminate()
        nginx.communicate(timeout=20)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0

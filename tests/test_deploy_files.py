"""The files in ``deploy/`` as the tools that will read them see them: the systemd units pass
``systemd-analyze verify`` (in a root of their own, where the programs they name are stubbed) with
not one warning, the nginx site passes ``nginx -t`` inside a configuration that includes it (with a
self-signed certificate made here), and ``intake.env.example`` names every setting the service reads.

The site and the units are also held to the code they serve: the upload limit, the event stream's
timeout against its heartbeat, the 企业微信 callback's path, the address the service listens on, the
data folder the service may write."""

from __future__ import annotations

import ipaddress
import re
import shlex
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.cli import build_parser
from bot.settings import Settings
from bot.web_events import HEARTBEAT_EVERY
from bot.wecom import CALLBACK_PATH
from dialogs.validators import PHOTO_MAX_BYTES, VIDEO_MAX_BYTES

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = ("intake.service", "intake-backup.service", "intake-backup.timer")
SITE = DEPLOY / "nginx-intake.conf"
ENV_EXAMPLE = DEPLOY / "intake.env.example"
NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
HOST_UNITS = next(
    (p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if p.is_dir()), None
)


def setting_variables() -> set[str]:
    """The environment variable of every setting in bot/settings.py, and INTAKE_LOG_LEVEL (read by
    bot.cli before the settings)."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    names = {
        info.validation_alias if isinstance(info.validation_alias, str) else f"{prefix}{name}".upper()
        for name, info in Settings.model_fields.items()
    }
    return names | {"INTAKE_LOG_LEVEL"}


def example_entries() -> dict[str, tuple[str, bool]]:
    """``intake.env.example``'s variables: name -> (value, whether the line is in force)."""
    entries = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"(# )?([A-Z][A-Z0-9_]+)=(.*)", line)
        if match:
            entries[match[2]] = (match[3], match[1] is None)
    return entries


def unit_values(unit: str, key: str) -> list[str]:
    text = (DEPLOY / unit).read_text(encoding="utf-8")
    return re.findall(rf"(?m)^{key}=(.*)$", text)


# The environment file ---------------------------------------------------------------------------------


def test_the_example_environment_names_every_setting_and_nothing_else() -> None:
    entries = example_entries()
    assert setting_variables() - entries.keys() == set(), "settings missing from intake.env.example"
    assert entries.keys() - setting_variables() == set(), "names in intake.env.example the service ignores"


def test_the_example_environment_is_read_as_valid_settings(tmp_path: Path) -> None:
    """Its lines in force are the settings of a deployment behind nginx (a value that does not parse,
    an AES key of the wrong length, a proxy that is not an address: ValidationError here)."""
    in_force = {name: value for name, (value, used) in example_entries().items() if used}
    env_file = tmp_path / "intake.env"
    env_file.write_text("".join(f"{name}={value}\n" for name, value in in_force.items()), encoding="utf-8")
    settings = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert settings.web_url.startswith("https://") and settings.trusted_proxies == "127.0.0.1"
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    # Every line of the file is a comment, a blank or NAME=value (what systemd's EnvironmentFile reads).
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        assert line == "" or line.startswith("#") or re.fullmatch(r"[A-Z][A-Z0-9_]+=\S*", line), line


# The systemd units ------------------------------------------------------------------------------------


def systemd_root(tmp_path: Path, units: dict[str, str]) -> Path:
    """A root for ``systemd-analyze verify --root``: the host's own units (the targets ours name),
    ours in /etc/systemd/system, and an executable stub at every absolute path an Exec line runs."""
    assert HOST_UNITS is not None
    root = tmp_path / "root"
    shutil.copytree(HOST_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    system = root / "etc/systemd/system"
    system.mkdir(parents=True)
    for name, text in units.items():
        (system / name).write_text(text, encoding="utf-8")
        for command in re.findall(r"(?m)^Exec\w+=[-@:+!]*(/\S+)", text):
            stub = root / command.lstrip("/")
            stub.parent.mkdir(parents=True, exist_ok=True)
            stub.write_text("#!/bin/sh\n", encoding="utf-8")
            stub.chmod(0o755)
    return root


def verify(root: Path, names: list[str]) -> subprocess.CompletedProcess[str]:
    paths = [str(root / "etc/systemd/system" / name) for name in names]
    return subprocess.run(
        ["systemd-analyze", "verify", f"--root={root}", "--man=no", *paths],
        capture_output=True,
        text=True,
        timeout=60,
    )


needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None or HOST_UNITS is None,
    reason="systemd-analyze is not installed (Debian package systemd; .ci/run installs it)",
)


@needs_systemd_analyze
def test_the_units_pass_systemd_analyze_verify_without_a_warning(tmp_path: Path) -> None:
    units = {name: (DEPLOY / name).read_text(encoding="utf-8") for name in UNITS}
    result = verify(systemd_root(tmp_path, units), list(UNITS))
    assert result.returncode == 0 and result.stderr == "", result.stderr


@needs_systemd_analyze
def test_verify_as_run_here_does_catch_a_mistake(tmp_path: Path) -> None:
    """The check above could fail: a misspelt key is only a warning to systemd (exit code 0), which
    is why the test wants stderr empty; a command that is not there is an error."""
    unit = (DEPLOY / "intake.service").read_text(encoding="utf-8")
    misspelt = unit.replace("ProtectSystem=strict", "ProtectSytem=strict")
    result = verify(systemd_root(tmp_path / "a", {"intake.service": misspelt}), ["intake.service"])
    assert "Unknown key" in result.stderr and "ProtectSytem" in result.stderr
    root = systemd_root(tmp_path / "b", {"intake.service": unit})
    (root / "opt/intake/.venv/bin/intake").unlink()
    missing = verify(root, ["intake.service"])
    assert missing.returncode != 0 and "/opt/intake/.venv/bin/intake" in missing.stderr


def test_the_service_runs_intake_run_with_the_settings_file_and_may_write_its_data_folder() -> None:
    [start] = unit_values("intake.service", "ExecStart")
    assert start.endswith("/intake run")
    assert unit_values("intake.service", "EnvironmentFile") == ["/etc/intake/intake.env"]
    assert unit_values("intake.service", "ProtectSystem") == ["strict"]
    assert unit_values("intake.service", "NoNewPrivileges") == ["yes"]
    assert unit_values("intake.service", "Restart") == ["on-failure"]
    # The signal the service handles (uvicorn's: SIGTERM ends the event streams, then the server),
    # with time for its graceful shutdown.
    assert unit_values("intake.service", "KillSignal") == ["SIGTERM"]
    writable = unit_values("intake.service", "ReadWritePaths")[0].split()
    data_dir = example_entries()["INTAKE_DATA_DIR"][0]
    assert any(Path(data_dir).is_relative_to(path) for path in writable), (data_dir, writable)
    [user] = unit_values("intake.service", "User")
    assert unit_values("intake-backup.service", "User") == [user] != ["root"]


def test_the_backup_runs_intake_backup_nightly_and_rotates_after_it_succeeded() -> None:
    [start] = unit_values("intake-backup.service", "ExecStart")
    assert "/intake backup " in start and "%%Y%%m%%d" in start, "a dated name (% doubled in a unit)"
    [rotate] = unit_values("intake-backup.service", "ExecStartPost")
    assert "-delete" in rotate and "intake-*.tar.gz" in rotate, "only old backups are deleted"
    assert unit_values("intake-backup.service", "Type") == ["oneshot"], "ExecStartPost only after success"
    backups = rotate.split()[1]
    assert any(backups in paths.split() for paths in unit_values("intake-backup.service", "ReadWritePaths"))
    assert unit_values("intake-backup.timer", "OnCalendar") and unit_values(
        "intake-backup.timer", "Persistent"
    )


# The nginx site -----------------------------------------------------------------------------------


def self_signed(folder: Path, host: str = "intake.example.gov.cn") -> tuple[Path, Path]:
    """A certificate and its key for ``host`` (and 127.0.0.1), valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.now(UTC)
    alternatives = [x509.DNSName(host), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def nginx_test_config(folder: Path, site: str, ports: tuple[int, int] | None = None) -> Path:
    """An nginx.conf in ``folder`` whose http block includes ``site`` as Debian's does sites-enabled,
    with the certificate made here, logs and state in ``folder`` and (given) other ports than 80/443."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = self_signed(folder)
    logs = folder / "logs"
    logs.mkdir(exist_ok=True)
    site = re.sub(r"ssl_certificate /\S+;", f"ssl_certificate {cert};", site)
    site = re.sub(r"ssl_certificate_key /\S+;", f"ssl_certificate_key {key};", site)
    site = site.replace("/var/log/nginx/", f"{logs}/")
    if ports is not None:
        site = re.sub(r"listen (\[::\]:)?80;", f"listen 127.0.0.1:{ports[0]};", site, count=1)
        site = re.sub(r"\s*listen \[::\]:80;", "", site)
        site = re.sub(r"listen 443 ssl;", f"listen 127.0.0.1:{ports[1]} ssl;", site)
        site = re.sub(r"\s*listen \[::\]:443 ssl;", "", site)
    (folder / "site.conf").write_text(site, encoding="utf-8")
    temp = folder / "temp"
    temp.mkdir(exist_ok=True)
    config = folder / "nginx.conf"
    config.write_text(
        f"pid {folder}/nginx.pid;\n"
        f"error_log {logs}/error.log;\n"
        "events {}\n"
        "http {\n"
        f"    client_body_temp_path {temp}/body;\n"
        f"    proxy_temp_path {temp}/proxy;\n"
        f"    access_log {logs}/access.log;\n"
        f"    include {folder}/site.conf;\n"
        "}\n",
        encoding="utf-8",
    )
    return config


def nginx_test(config: Path) -> subprocess.CompletedProcess[str]:
    """``nginx -t`` on ``config`` (not ``-q``: it hides warnings too)."""
    folder = config.parent
    return subprocess.run(
        [str(NGINX), "-t", "-c", str(config), "-p", f"{folder}/", "-e", str(folder / "logs/error.log")],
        capture_output=True,
        text=True,
        timeout=60,
    )


needs_nginx = pytest.mark.skipif(
    NGINX is None,
    reason="nginx is not installed (Debian package nginx; .ci/run installs it)",
)


@needs_nginx
def test_the_site_passes_nginx_t_without_a_warning(tmp_path: Path) -> None:
    result = nginx_test(nginx_test_config(tmp_path, SITE.read_text(encoding="utf-8")))
    assert result.returncode == 0 and "test is successful" in result.stderr, result.stderr
    assert [line for line in result.stderr.splitlines() if "[" in line] == [], "no [warn], no [emerg]"


@needs_nginx
def test_nginx_t_as_run_here_does_catch_a_mistake(tmp_path: Path) -> None:
    broken = SITE.read_text(encoding="utf-8").replace("proxy_buffering off;", "proxy_buffering of;")
    result = nginx_test(nginx_test_config(tmp_path / "a", broken))
    assert result.returncode != 0 and "[emerg]" in result.stderr and "proxy_buffering" in result.stderr
    # A warning leaves the exit code 0: the test above looks for it in what nginx says.
    site = SITE.read_text(encoding="utf-8")
    start = site.index("server {")
    plain_http = site[start : site.index("\n}\n", start) + 3]
    doubled = site + plain_http  # the same name on the same port twice: "conflicting server name"
    warned = nginx_test(nginx_test_config(tmp_path / "b", doubled))
    assert warned.returncode == 0 and "[warn]" in warned.stderr, warned.stderr


def site_blocks() -> dict[str, str]:
    """The HTTPS server's locations, by what they match ("/", "= /api/events", …), and "server"."""
    text = re.sub(r"(?m)^\s*#.*$", "", SITE.read_text(encoding="utf-8"))
    https = text[text.index("listen 443 ssl;") :]
    blocks = {m[1].strip(): m[2] for m in re.finditer(r"location ([^{]+)\{([^}]*)\}", https)}
    blocks["server"] = re.sub(r"location [^{]+\{[^}]*\}", "", https)
    return blocks


def directive(block: str, name: str) -> list[str]:
    return [m.strip() for m in re.findall(rf"(?m)^\s*{name}\s+([^;]+);", block)]


def nginx_size(value: str) -> int:
    """Bytes of an nginx size ("310m")."""
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    return int(value[:-1]) * units[value[-1].lower()] if value[-1].isalpha() else int(value)


def nginx_seconds(value: str) -> int:
    """Seconds of an nginx time ("60s", "1h")."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return int(value[:-1]) * units[value[-1]] if value[-1].isalpha() else int(value)


def test_the_site_is_held_to_the_service_it_proxies() -> None:
    blocks = site_blocks()
    server = blocks["server"]
    # The largest upload the service takes passes nginx; a little more goes on to the service, which
    # says in Chinese by how much it is too large (nginx would answer an English page).
    [body_limit] = directive(server, "client_max_body_size")
    assert (
        VIDEO_MAX_BYTES <= nginx_size(body_limit) <= VIDEO_MAX_BYTES * 1.1
        and PHOTO_MAX_BYTES < VIDEO_MAX_BYTES
    )
    # The address and scheme the service believes from a trusted proxy (bot.http_edge), and the Host
    # its same-origin check compares with the page's Origin.
    headers = directive(server, "proxy_set_header")
    assert {"X-Forwarded-For $remote_addr", "X-Forwarded-Proto $scheme", "Host $host"} <= set(headers)
    # The event stream: unbuffered, and open far longer than the beat that keeps it alive.
    events = blocks["= /api/events"]
    assert directive(events, "proxy_buffering") == ["off"]
    [read_timeout] = directive(events, "proxy_read_timeout")
    assert nginx_seconds(read_timeout) > 3 * HEARTBEAT_EVERY
    # 企业微信's callback, at the path the service serves it on; every location goes to the service.
    assert f"= {CALLBACK_PATH}" in blocks
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    upstream = re.search(r"upstream intake \{\s*server ([^;]+);", SITE.read_text(encoding="utf-8"))
    assert upstream is not None and upstream[1] == f"{defaults.host}:{defaults.port}"
    for match, block in blocks.items():
        if match != "server":
            assert directive(block, "proxy_pass") == ["http://intake"], match
    # A place for the 公众号 callback is kept (commented out until the service has that channel).
    assert "公众号" in SITE.read_text(encoding="utf-8")


# docs/DEPLOY.md --------------------------------------------------------------------------------------


def deploy_guide_commands() -> list[list[str]]:
    """Every ``intake`` command the guide's shell blocks run (through intake-admin or the venv's
    intake), as argument lists; shell variables stand for a file or a database address."""
    guide = (ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", guide, flags=re.DOTALL)
    commands = []
    for line in "\n".join(blocks).splitlines():
        match = re.search(r"(?:^intake-admin|/\.venv/bin/intake) (.+)", line.split("#", 1)[0].strip())
        if match:
            commands.append(shlex.split(match[1].replace('"$BACKUP"', "backup.tar.gz")))
    return commands


def test_every_intake_command_of_the_deploy_guide_is_one_the_command_takes() -> None:
    commands = deploy_guide_commands()
    assert {command[0] for command in commands} >= {"migrate", "invite", "doctor", "restore", "status"}
    parser = build_parser()
    for command in commands:
        parser.parse_args(command)  # SystemExit (argparse's error) for a command or option it lacks
    for name in (*UNITS, "nginx-intake.conf", "intake.env.example", "intake-admin"):
        assert f"deploy/{name}" in (ROOT / "docs" / "DEPLOY.md").read_text(encoding="utf-8"), name

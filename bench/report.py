"""The table: one row per figure, each with its target and its run conditions, as Markdown."""

from __future__ import annotations

import math
import os
import platform
import sqlite3
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from bench.scenario import percentile

MET, MISSED = "✓", "✗"


@dataclass
class Row:
    """One figure: ``id`` is stable (tests look rows up by it); ``result`` always holds a number,
    or says ``skipped: …`` and why."""

    id: str
    measure: str
    result: str
    target: str = "—"
    met: str = ""
    conditions: str = ""


def verdict(*checks: bool | None) -> str:
    """✓ when every check holds, ✗ when one fails; blank when there is nothing to check."""
    known = [check for check in checks if check is not None]
    if not known:
        return ""
    return MET if all(known) else MISSED


def ms(value: float) -> str:
    if math.isnan(value):
        return "—"
    if value >= 100:
        return f"{value:,.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


def seconds(value: float) -> str:
    return f"{value:,.1f} s" if value < 100 else f"{value:,.0f} s"


def rate(value: float) -> str:
    if math.isnan(value):
        return "—"
    return f"{value:,.0f} msg/s" if value >= 10 else f"{value:.2f} msg/s"


def count(value: int) -> str:
    return f"{value:,}"


def ratio(value: float) -> str:
    if math.isnan(value):
        return "—"
    return f"{value:.2f}×" if value < 10 else f"{value:,.0f}×"


def latency(costs_ms: list[float]) -> str:
    return f"p50 {ms(percentile(costs_ms, 0.5))} · p99 {ms(percentile(costs_ms, 0.99))}"


def render_table(rows: Iterable[Row]) -> str:
    lines = [
        "| # | measure | result | target | met | conditions |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [row.id, row.measure, row.result, row.target, row.met, row.conditions]
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return "\n".join(lines)


# Run conditions ---------------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float:
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            for line in info:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return float("nan")


def fsync_ms(directory: Path, samples: int = 50) -> float:
    """The median time of one 4-KB write + fsync in ``directory`` (what a durable commit waits for)."""
    times = []
    with tempfile.NamedTemporaryFile(dir=directory) as handle:
        for _ in range(samples):
            handle.write(b"\0" * 4096)
            handle.flush()
            began = time.perf_counter()
            os.fsync(handle.fileno())
            times.append((time.perf_counter() - began) * 1000)
    return percentile(times, 0.5)


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "?"


def machine_lines(work_dir: Path) -> list[str]:
    return [
        f"- machine: {os.cpu_count()} cores ({_cpu_model()}), {_memory_gib():.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}",
        f"- disk under {work_dir}: 4-KB write + fsync median {fsync_ms(work_dir):.2f} ms "
        "(each durable commit waits for at least one)",
        f"- Python {platform.python_version()}, python-telegram-bot {_version('python-telegram-bot')}, "
        f"SQLAlchemy {_version('SQLAlchemy')}, SQLite {sqlite3.sqlite_version}, "
        f"python-docx {_version('python-docx')}, openpyxl {_version('openpyxl')}",
    ]


def busiest(stamps: list[float], window_s: float) -> int:
    """The most of ``stamps`` (seconds) inside any window of ``window_s`` seconds."""
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= window_s:
            start += 1
        best = max(best, end - start + 1)
    return best

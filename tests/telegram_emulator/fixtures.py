"""pytest fixture: a fresh Telegram Bot API emulator for each test.

Function scope: a start takes about 0.4 s and every test gets an empty emulator (no users, updates,
messages or files left over), so there is no reset to forget. Use it from a test module with
``from tests.telegram_emulator.fixtures import emulator_fixture  # noqa: F401``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.telegram_emulator import Emulator, start_emulator


@pytest.fixture(name="emulator")
def emulator_fixture() -> Iterator[Emulator]:
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed: the Telegram emulator tests need `node` (and npm once)")
    emulator = start_emulator()  # installs the npm packages first if needed; fails loudly if it can't
    try:
        yield emulator
    finally:
        emulator.stop()

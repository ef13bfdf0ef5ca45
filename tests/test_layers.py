"""One direction of dependency, checked on the source: channels depend on the core, the core never on a
channel; channels ask the engine, never its storage or declarations behind it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The modules that serve people (channels) and the delivery layer they share; not the ``intake``
#: command and the composition, which open storage for the deployer's own commands.
CHANNELS = [
    ROOT / "bot" / name for name in ("web.py", "telegram_channel.py", "telegram_service.py", "console.py")
] + sorted((ROOT / "bot" / "delivery").glob("*.py"))


def imported(path: Path) -> set[str]:
    """Every module a file imports, at any depth of the file."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_the_core_never_imports_a_channel_or_a_renderer() -> None:
    """Rendering and the export's layout are given to the engine (``render``, the exporter)."""
    outside = ("bot", "renderers")
    offending = {
        str(path.relative_to(ROOT)): sorted(m for m in imported(path) if m.split(".")[0] in outside)
        for path in sorted((ROOT / "dialogs").rglob("*.py"))
    }
    assert {path: modules for path, modules in offending.items() if modules} == {}


def test_no_channel_imports_a_table() -> None:
    offending = {
        str(path.relative_to(ROOT)): sorted(m for m in imported(path) if m == "storage.models")
        for path in sorted((ROOT / "bot").rglob("*.py"))
    }
    assert {path: modules for path, modules in offending.items() if modules} == {}


def test_no_channel_reaches_through_the_engine() -> None:
    """A channel asks the engine (``identity``, ``notices``, ``status``, ``open_document`` …); the
    delivery layer alone is given its store."""
    reach = re.compile(r"\bengine\.(repository|campaign|forms|clock|machines|desk)\b")
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in CHANNELS
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if reach.search(line)
    ]
    assert found == [], "\n".join(found)

"""What a validator returns and what it may know: ``Accepted``, ``Rejected``, ``ValidationContext``.

Shared by the validators of ``dialogs.validators`` (the registry forms name) and the modules it
gathers them from, so that none of them imports another for its result types.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

__all__ = [
    "Accepted",
    "Rejected",
    "TextValidator",
    "ValidationContext",
    "ValidationResult",
    "empty_answer",
    "without_spaces",
]


@dataclass(frozen=True)
class Accepted:
    """The answer is valid; ``value`` is what to store (JSON-serialisable)."""

    value: Any
    note: str | None = None  # a remark shown to the user that does not refuse the answer


@dataclass(frozen=True)
class Rejected:
    """The answer is refused; ``message`` tells the user what is wrong and what to do."""

    message: str


ValidationResult = Accepted | Rejected


@dataclass(frozen=True)
class ValidationContext:
    """What a validator may know besides the answer itself."""

    label: str  # the field's Chinese label, e.g. "主要事迹"
    today: date  # today's date in Asia/Shanghai (injected clock)
    campaign_year: int
    deadline: date | None = None  # the task's deadline
    answers: Mapping[str, Any] = field(default_factory=dict)  # other accepted answers of the record


TextValidator = Callable[[str, Mapping[str, Any], ValidationContext], ValidationResult]

_WHITESPACE = re.compile(r"\s+")


def without_spaces(text: str) -> str:
    return _WHITESPACE.sub("", text)


def empty_answer(ctx: ValidationContext) -> Rejected:
    return Rejected(f"请填写{ctx.label}。")

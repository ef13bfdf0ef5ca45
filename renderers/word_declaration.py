"""A form declaration derived from a Word form's items, in the TOML format of ``dialogs/forms/``.

The engine gets no second path: an imported form is a declaration like the hand-written ones, with
``template`` naming the Word file beside it, each field's ``cell`` naming the cell its answer is
printed in, and ``filled_from`` the blanks filled without asking (the unit's name, the date, or the
answer to the same question asked in a table, as a cover page's 姓名).
``declaration_toml`` writes it; ``dialogs.declarations.load_form`` reads it back unchanged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from renderers.word_form_items import FormLayout, LineBlank, PhotoGroup, Question, RowGroup
from renderers.word_vocabulary import PLACEHOLDER_EXAMPLE, Inferred, infer

__all__ = ["Declared", "declaration_data", "declaration_toml", "where_printed"]


@dataclass(frozen=True)
class Declared:
    """The declaration as data, and the labels that fell back to plain text (for the report)."""

    data: dict[str, Any]
    fallbacks: tuple[str, ...]
    compounds: tuple[str, ...] = ()  # labels asking several things at once, read as text


def where_printed(address: str, raw_label: str) -> str:
    """``("T1R2C4", "性别")`` → ``"表1第2行“性别”"``; ``"P3:申报单位"`` → ``"表外“申报单位”"``."""
    if address.startswith("P"):
        return f"表外“{raw_label}”"
    match = re.fullmatch(r"T([\d.]+)R(\d+)C(\d+)(?::.*|#\d+)?", address)
    if match is None:
        return f"“{raw_label}”"
    return f"表{match[1]}第{match[2]}行“{raw_label}”"


class _Keys:
    """Stable, unique field keys: the vocabulary's name, numbered when it comes again."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, base: str) -> str:
        key, number = base, 1
        while key in self.seen:
            number += 1
            key = f"{base}_{number}"
        self.seen.add(key)
        return key


def _prompt(label: str, inferred: Inferred, min_chars: int | None, max_chars: int | None) -> str:
    if inferred.kind == "photo":
        return f"请发送{label}（一张，清晰原图）。"
    if inferred.validator == "choices":
        return f"请选择{label}（可多选，用顿号隔开）：{'、'.join(inferred.params['choices'])}。"
    if inferred.kind == "choice":
        return f"请选择{label}。"
    limit = ""
    if min_chars and max_chars:
        limit = f"（{min_chars}-{max_chars}字）"
    elif max_chars:
        limit = f"（{max_chars}字以内）"
    elif min_chars:
        limit = f"（不少于{min_chars}字）"
    return f"请填写{label}{limit}。"


def _field(question: Question, keys: _Keys, fallbacks: list[str], compounds: list[str]) -> dict[str, Any]:
    inferred = infer(
        question.label,
        min_chars=question.min_chars,
        max_chars=question.max_chars,
        raw_label=question.raw_label,
        options=question.options,
        multiple=question.multiple,
        photo=question.kind == "photo",
        figure=question.kind == "figure",
    )
    if inferred.fallback:
        fallbacks.append(question.label)
    if inferred.compound:
        compounds.append(question.label)
    field: dict[str, Any] = {"key": keys(inferred.key), "label": question.label}
    field["prompt"] = _prompt(question.label, inferred, question.min_chars, question.max_chars)
    if inferred.kind == "text":
        field["example"] = inferred.example or PLACEHOLDER_EXAMPLE
    if inferred.kind != "text":
        field["kind"] = inferred.kind
    if inferred.validator is not None:
        field["validator"] = inferred.validator
    if inferred.params:
        field["params"] = inferred.params
    if inferred.options:
        field["options"] = list(inferred.options)
    if question.option_cells:
        field["option_cells"] = dict(zip(question.options, question.option_cells, strict=True))
    if not question.required:
        field["required"] = False
    field["printed"] = where_printed(question.address, question.raw_label)
    if question.unlabelled:
        field["printed"] = field["printed"].replace(f"“{question.raw_label}”", "右侧的照片栏")
    field["cell"] = question.address
    return field


def _row_group(group: RowGroup, keys: _Keys, fallbacks: list[str], compounds: list[str]) -> dict[str, Any]:
    fields = [_field(column, keys, fallbacks, compounds) for column in group.columns]
    labels = "、".join(column.label for column in group.columns)
    return {
        "group": keys("rows"),
        "label": group.label,
        "item": "行",
        "min_rows": 1,
        "max_rows": max(10, 2 * group.blank_rows),
        "title_field": next((f["key"] for f in fields if f.get("kind") != "photo"), fields[0]["key"]),
        "prompt": f"“{group.label}”按行填写，每行包括：{labels}。表中印有 {group.blank_rows} 行，可以增加。",
        "printed": where_printed(group.address, group.label) + f"起的 {group.blank_rows} 行（不够时增加行）",
        "cell": group.address,
        "fields": fields,
    }


def _photo_group(group: PhotoGroup, keys: _Keys) -> dict[str, Any]:
    photo_key, caption_key = keys("photo"), keys("caption")
    caption: dict[str, Any] = {
        "key": caption_key,
        "label": "照片说明",
        "prompt": "请为这张照片写一句说明。",
        "example": "2021年6月18日，活动现场",
        "validator": "text",
        "params": {"min_hanzi": 2, "max_chars": 60},
        "printed": "表格后（照片下方说明）",
    }
    if not group.captions:
        caption["required"] = False
    return {
        "group": keys("photos"),
        "label": group.label,
        "item": "张照片",
        "min_rows": group.min_rows,
        "max_rows": group.max_rows,
        "title_field": caption_key,
        "prompt": f"{group.label}：至少需要 {group.min_rows} 张，最多 {group.max_rows} 张。",
        "printed": where_printed(group.address, group.raw_label) + "（照片附在表格后）",
        "cell": group.address,
        "fields": [
            {
                "key": photo_key,
                "label": "照片",
                "kind": "photo",
                "prompt": "请发送一张照片（可以一次选多张）。",
                "printed": "表格后",
            },
            caption,
        ],
    }


def _cross_check_id_numbers(steps: list[dict[str, Any]]) -> None:
    """An ID number is checked against the birth month and gender the same form asks for."""
    top = {step["key"]: step for step in steps if "key" in step}
    for step in top.values():
        if step.get("validator") == "id_number":
            params = step.setdefault("params", {})
            if top.get("birth", {}).get("validator") == "birth_year_month":
                params["birth_field"] = "birth"
            if top.get("gender", {}).get("validator") == "choice":
                params["gender_field"] = "gender"
            if not params:
                del step["params"]


def _short_title(title: str) -> str:
    """A title short enough for menus: whole up to 12 characters, else what follows its last quoted
    name (广西“最美基层妇联干部”登记表 → 登记表), else its last 8 characters."""
    if len(title) <= 12:
        return title
    tail = re.split(r"[”》」]", title)[-1]
    return tail if len(tail) >= 3 else title[-8:]


def declaration_data(layout: FormLayout, form_id: str, title: str, template: str) -> Declared:
    """The declaration of an imported form as the dict ``FormDecl`` validates."""
    keys = _Keys()
    fallbacks: list[str] = []
    compounds: list[str] = []
    steps: list[dict[str, Any]] = []
    filled_from: dict[str, str] = {}
    asked = {item.label for item in layout.items if isinstance(item, Question)}
    repeats: dict[str, str] = {}  # a line's blank → the label of the question it repeats
    for item in layout.items:
        if isinstance(item, Question):
            steps.append(_field(item, keys, fallbacks, compounds))
        elif isinstance(item, RowGroup):
            steps.append(_row_group(item, keys, fallbacks, compounds))
        elif isinstance(item, PhotoGroup):
            steps.append(_photo_group(item, keys))
        elif isinstance(item, LineBlank):
            if item.known is not None:
                filled_from[item.address] = item.known
            elif item.label in asked:
                repeats[item.address] = item.label  # 封面“姓名”: the table's 姓名 answered once
            else:
                steps.append(
                    _field(
                        Question(item.label, item.raw_label, item.address, "line"), keys, fallbacks, compounds
                    )
                )
    for address, label in repeats.items():
        key = next(s["key"] for s in steps if s.get("label") == label and "key" in s)
        filled_from[address] = f"answer:{key}"
    _cross_check_id_numbers(steps)
    top_text = [s for s in steps if "key" in s and s.get("kind", "text") in ("text", "choice")]
    summary = next((s["key"] for s in top_text if s.get("validator") == "person_name"), None)
    summary = summary or (top_text[0]["key"] if top_text else None)
    summary = summary or next((s["group"] for s in steps if "group" in s), None)  # a form of one table
    summary = summary or next((s["key"] for s in steps if "key" in s), None)  # only a photo left blank
    data: dict[str, Any] = {
        "id": form_id,
        "title": title,
        "short_title": _short_title(title),
        "record_noun": "份",
        "summary_field": summary or "",
        "intro": f"开始填写《{title}》。",
        "template": template,
        "filled_from": filled_from,
        "steps": steps,
    }
    return Declared(data, tuple(fallbacks), tuple(compounds))


# --- TOML ---------------------------------------------------------------------------------------


def _value(value: Any) -> str:
    """A TOML value: JSON's strings, numbers and arrays are TOML's; tables become inline tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        inner = ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


#: The order of a step's keys in the hand-written declarations.
_STEP_KEYS = (
    "key", "group", "label", "item", "min_rows", "max_rows", "title_field", "prompt", "example", "help",
    "kind", "validator", "params", "options", "required", "printed", "cell", "option_cells",
)  # fmt: skip


def _lines(table: dict[str, Any], skip: Sequence[str] = ()) -> Iterator[str]:
    ordered = sorted(table, key=lambda k: _STEP_KEYS.index(k) if k in _STEP_KEYS else -1)
    for key in ordered:
        if key not in skip:
            yield f"{_key(key)} = {_value(table[key])}"


def declaration_toml(declared: Declared, source_name: str) -> str:
    """The declaration as a TOML file in the layout of the hand-written ones."""
    data = declared.data
    lines = [f"# {data['title']} — imported from {source_name} by `intake form import`; edit freely."]
    lines.extend(_lines(data, skip=("steps", "filled_from")))
    if data["filled_from"]:
        lines += ["", "[filled_from]", *_lines(data["filled_from"])]
    for step in data["steps"]:
        lines += ["", "[[steps]]", *_lines(step, skip=("fields",))]
        for field in step.get("fields", []):
            lines += ["", "[[steps.fields]]", *_lines(field)]
    return "\n".join(lines) + "\n"

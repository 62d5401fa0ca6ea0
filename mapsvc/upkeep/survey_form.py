"""The provider's survey form (追加調査), generated from the taxonomy, and its validation.

One structure, the *answers*, serves the HTML form and any JSON client::

    {"fields": {"fax": "087-000-0000", ...},
     "capabilities": {"ventilator": {"level": "accept", "note": "要相談の場合あり"},
                      "contact_methods": {"value": ["phone", "fax"]},
                      "doctor_meeting_times": {"value": "火曜午後"}},
     "service_area": {"kind": "radius", "km": 10},
     "respondent": {"name": "高松 花子", "title": "管理者"},
     "comment": "…"}

HTML inputs are named by their path in this structure (``capabilities.ventilator``,
``capabilities.contact_methods.phone`` = rank, ``service_area.km`` …), so an error's
field name is also the name of the input it belongs to. This module builds the form
(:func:`form_groups`, :func:`current_answers`) and reads it back (:func:`answers_from_form`);
what answers may say and the payload they make (:func:`validate_answers`,
:func:`build_payload`) live in :mod:`mapsvc.upkeep.survey_answers` and are re-exported here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mapsvc.core.taxonomy import Capability, Label, Taxonomy
from mapsvc.upkeep.survey_answers import (
    SURVEY_FIELDS,
    applicable,
    build_payload,
    validate_answers,
)

# validation lives in survey_answers; callers import these names from here too
__all__ = [
    "SURVEY_FIELDS",
    "FormGroup",
    "answers_from_form",
    "applicable",
    "build_payload",
    "current_answers",
    "form_groups",
    "input_label",
    "validate_answers",
]


@dataclass(frozen=True)
class FormGroup:
    """Capabilities of one taxonomy group that apply to a provider type, in file order."""

    key: str
    label: Label
    capabilities: tuple[Capability, ...]


def form_groups(taxonomy: Taxonomy, provider_type: str) -> list[FormGroup]:
    """The form's capability sections for ``provider_type`` (only applicable ones)."""
    groups: list[FormGroup] = []
    for gkey, glabel in taxonomy.groups.items():
        caps = tuple(
            c
            for c in taxonomy.capabilities.values()
            if c.group == gkey and provider_type in c.applies_to
        )
        if caps:
            groups.append(FormGroup(gkey, glabel, caps))
    return groups


def current_answers(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record's present values in the answers structure (to pre-fill the form)."""
    area = record.get("service_area")
    if not area:
        area_answer: dict[str, Any] = {"kind": "default"}
    elif area.get("kind") in ("radius", "travel_time", "codes"):
        area_answer = dict(area)
    else:
        area_answer = {"kind": "keep", "current": area.get("kind")}
    return {
        "fields": {k: record.get(k) for k in SURVEY_FIELDS},
        "capabilities": {k: dict(v) for k, v in (record.get("capabilities") or {}).items() if v},
        "service_area": area_answer,
        "respondent": {"name": "", "title": ""},
        "comment": "",
    }


def answers_from_form(
    taxonomy: Taxonomy, pairs: Iterable[tuple[str, str]]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Read HTML form pairs (``request.form.items(multi=True)``) into answers.

    Returns the answers and conversion errors (a rank that is not a number, two contact
    methods with the same rank). Names outside the answer paths (csrf_token, buttons) are
    ignored; every ``capabilities.*`` name is kept so unknown ones are refused later.
    """
    answers: dict[str, Any] = {"fields": {}, "capabilities": {}, "service_area": {}}
    errors: dict[str, str] = {}
    ranks: dict[str, dict[str, str]] = {}
    for name, raw in pairs:
        value = raw.strip()
        part, _, rest = name.partition(".")
        if part == "fields" and rest:
            answers["fields"][rest] = value
        elif part == "capabilities" and rest:
            key, _, sub = rest.partition(".")
            cap = taxonomy.capabilities.get(key)
            slot = answers["capabilities"].setdefault(key, {})
            if sub == "note":
                slot["note"] = value
            elif cap is not None and cap.kind == "ranked":
                ranks.setdefault(key, {})
                if sub:
                    ranks[key][sub] = value
            elif sub:
                errors[name] = f"unknown input {name!r}"
            elif cap is not None and cap.kind in ("choice", "text"):
                slot["value"] = value or None
            else:
                slot["level"] = value
        elif part == "service_area" and rest:
            answers["service_area"][rest] = value
        elif part == "respondent" and rest:
            answers.setdefault("respondent", {})[rest] = value
        elif name == "comment":
            answers["comment"] = value
    for key, options in ranks.items():
        chosen: list[tuple[int, str]] = []
        for option, rank in options.items():
            if not rank:
                continue
            if not rank.isdigit():
                errors[f"capabilities.{key}.{option}"] = f"順位は数字で入力してください ({rank!r})"
                continue
            chosen.append((int(rank), option))
        numbers = [r for r, _ in chosen]
        if len(set(numbers)) != len(numbers):
            errors[f"capabilities.{key}"] = "同じ順位が複数あります（順位は1つずつ）"
        answers["capabilities"][key]["value"] = [o for _, o in sorted(chosen)]
    area = answers["service_area"]
    if "codes" in area:
        area["codes"] = [c for c in re.split(r"[,;、，\s]+", area["codes"]) if c]
    return answers, errors


_OTHER_LABELS = {
    "service_area": ("対応地域", "Service area"),
    "respondent.name": ("回答者の氏名", "Your name"),
    "respondent.title": ("回答者の職名", "Your job title"),
    "comment": ("担当者への連絡", "Message"),
}


def input_label(taxonomy: Taxonomy, name: str, lang: str = "ja") -> str:
    """The label people see for an input name (for error summaries)."""
    part, _, rest = name.partition(".")
    key = rest.split(".", 1)[0]
    if part == "capabilities" and key in taxonomy.capabilities:
        return taxonomy.capabilities[key].label.get(lang)
    if part == "fields" and key in taxonomy.fields:
        return taxonomy.fields[key].label.get(lang)
    for prefix, (ja, en) in _OTHER_LABELS.items():
        if name == prefix or name.startswith(prefix + "."):
            return en if lang == "en" else ja
    return name

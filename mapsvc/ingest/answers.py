"""Coded multi-answer surveys: one row per provider, question and answer.

Older resource-map systems export survey results this way (``facility_id, question_cd,
answer_cd, answer_content``). The mapping's ``answers.questions`` says what each question
(or each answer of a multiple-choice question) sets: a capability (one for every type, or
one per provider type), the provider's service area (answers listing area codes or names),
or nothing (``ignore``). Rows only update providers already in the registry; each row
counts as updated, unchanged or rejected. Options a provider did not tick are left as they
were (the file does not say "no").

Two answers for one provider and capability are a conflict, settled by the mapping's
``answers.conflict`` rule and counted in the report: ``strongest`` (default) keeps the
strongest stated level (積極的 > 受入 > 要相談 > 不可), ``last`` the last row. An answer
marked ``planned`` ("plans to start") is never a level: it never lowers or replaces a
stated one, and alone it records ``unknown`` with the note 予定.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mapsvc.core.codes import header_index, nfkc
from mapsvc.core.errors import ImportFailed
from mapsvc.core.models import Area
from mapsvc.core.registry import Change, diff, existing_by_source, existing_by_uid
from mapsvc.core.taxonomy import UNKNOWN, Taxonomy
from mapsvc.ingest.mapping import Mapping
from mapsvc.ingest.plan import ImportPlan, Rejection
from mapsvc.ingest.reader import Table
from mapsvc.ingest.resolve import _find

_STRENGTH = {"active": 4, "accept": 3, "yes": 3, "consult": 2, "no": 1, UNKNOWN: 0}
PLANNED_NOTE = "予定"
AREA = "@service_area"


def _target_capability(target: dict[str, Any], provider_type: str) -> str | None:
    cap = target.get("capability")
    if isinstance(cap, dict):
        return cap.get(provider_type) or cap.get("default")
    return cap


def _strength(value: dict[str, Any] | None) -> int:
    return _STRENGTH.get((value or {}).get("level", ""), -1)


def _settle(answers: list[tuple[dict[str, Any], bool]], rule: str) -> tuple[Any, bool]:
    """(value, conflicted) of one provider × capability from its (value, planned) answers."""
    stated = [v for v, planned in answers if not planned]
    if not stated:
        return {"level": UNKNOWN, "note": PLANNED_NOTE}, False
    distinct = {repr(v) for v in stated}
    if len(distinct) == 1:
        return stated[0], False
    if rule == "last" or all("level" not in v for v in stated):
        return stated[-1], True
    return max(stated, key=_strength), True


def plan_answers(
    session: Session, table: Table, mapping: Mapping, taxonomy: Taxonomy
) -> ImportPlan:
    """Plan capability and service-area updates from an answers file (module docstring)."""
    spec = mapping.answers
    assert spec is not None
    keys = header_index(table.header)
    provider_col = _find(keys, spec.provider)
    question_col = _find(keys, spec.question)
    answer_col = _find(keys, spec.answer)
    text_col = _find(keys, spec.text) if spec.text else None
    plan = ImportPlan(
        table.path, mapping, spec.provider_source, rows=len(table.rows), header=table.header
    )
    if not (provider_col and question_col and answer_col):
        raise ImportFailed(
            f"{table.path}: line {table.header_line}: an answers file needs the columns "
            f"{spec.provider[0]}, {spec.question[0]} and {spec.answer[0]}",
            field="columns",
        )
    by_source = existing_by_source(session, spec.provider_source)
    by_uid: dict[str, dict[str, Any]] | None = None
    area_names: dict[str, str] | None = None
    # provider id -> capability (or AREA) -> [(value, planned)], and the rows behind them
    collected: dict[int, dict[str, list[tuple[Any, bool]]]] = {}
    row_keys: list[tuple[int, str]] = []
    currents: dict[int, dict[str, Any]] = {}
    for line, row in table.rows:
        provider_key = nfkc(row.get(provider_col, "") or "")
        question = nfkc(row.get(question_col, "") or "")
        answer = nfkc(row.get(answer_col, "") or "")
        text = (row.get(text_col, "") or "").strip() if text_col else ""
        current = by_source.get(provider_key)
        if current is None:
            if by_uid is None:
                by_uid = existing_by_uid(
                    session, [nfkc(r.get(provider_col, "") or "") for _, r in table.rows]
                )
            current = by_uid.get(provider_key)
        if current is None:
            plan.rejections.append(
                Rejection(
                    line,
                    f"provider {provider_key!r} is not in the registry (source {spec.provider_source})",
                    row,
                )
            )
            continue
        qspec = spec.questions.get(question)
        if qspec is None:
            plan.rejections.append(Rejection(line, f"unknown question code {question!r}", row))
            continue
        if qspec.get("ignore"):
            plan.unchanged += 1
            continue
        try:
            if "service_area" in qspec:
                target = (qspec.get("answers") or {}).get(answer)
                if target == "ignore":
                    plan.unchanged += 1
                    continue
                raw_area = str(target["area"]) if isinstance(target, dict) else (text or answer)
                codes: list[str] = []
                for item in [p.strip() for p in raw_area.replace("、", ",").split(",")]:
                    if not item:
                        continue
                    if qspec["service_area"] == "names" and not item.isdigit():
                        if area_names is None:
                            area_names = {
                                nfkc(a.name): a.code for a in session.scalars(select(Area))
                            }
                        code = area_names.get(nfkc(item))
                        if code is None:
                            plan.skipped_cells.append(
                                (line, question, f"service area {item!r} is not a loaded area")
                            )
                            continue
                        codes.append(code)
                    else:
                        codes.append(item)
                if not codes and raw_area.strip():
                    plan.unchanged += 1  # every name was unknown: reported as skipped
                    continue
                key, value, planned = AREA, codes, False
            else:
                if "answers" in qspec:
                    target = qspec["answers"].get(answer)
                    if target is None:
                        raise ValueError(f"unknown answer code {answer!r} for question {question}")
                    if target == "ignore":
                        plan.unchanged += 1
                        continue
                else:
                    target = qspec
                key = _target_capability(target, current["type"])
                if key is None:
                    plan.skipped_cells.append(
                        (line, question, f"no capability for provider type {current['type']}")
                    )
                    plan.unchanged += 1
                    continue
                planned = bool(target.get("planned"))
                if planned:
                    value = {"level": UNKNOWN, "note": PLANNED_NOTE}
                elif "answers" in qspec:
                    value = taxonomy.parse_value(
                        key, target.get("level", target.get("value", "accept"))
                    )
                else:
                    raw = (
                        spec.values.get(answer, answer)
                        if answer in spec.values
                        else (text or answer)
                    )
                    if answer in spec.values and spec.values[answer] == "text":
                        raw = text
                    value = taxonomy.parse_value(key, raw)
        except ValueError as exc:
            plan.rejections.append(Rejection(line, str(exc), row))
            continue
        if value is None or value == []:
            plan.rejections.append(Rejection(line, "empty answer", row))
            continue
        if key != AREA and current["type"] not in taxonomy.capabilities[key].applies_to:
            plan.skipped_cells.append(
                (
                    line,
                    question,
                    f"capability {key} does not apply to provider type {current['type']}",
                )
            )
            plan.unchanged += 1
            continue
        collected.setdefault(current["id"], {}).setdefault(key, []).append((value, planned))
        currents[current["id"]] = current
        row_keys.append((current["id"], key))

    finals: dict[int, dict[str, Any]] = {}
    for pid, by_key in collected.items():
        for key, answers in by_key.items():
            if key == AREA:
                codes = list(dict.fromkeys(c for v, _ in answers for c in v))
                finals.setdefault(pid, {})[AREA] = {"kind": "codes", "codes": codes}
                continue
            value, conflicted = _settle(answers, spec.conflict)
            plan.conflicts += conflicted
            current_value = (currents[pid].get("capabilities") or {}).get(key)
            if (
                value.get("note") == PLANNED_NOTE
                and value.get("level") == UNKNOWN
                and current_value is not None
            ):
                value = current_value  # "plans to start" never replaces what is stored
            finals.setdefault(pid, {})[key] = value
    for pid, key in row_keys:
        current = currents[pid]
        stored = (
            current.get("service_area")
            if key == AREA
            else (current.get("capabilities") or {}).get(key)
        )
        if stored == finals[pid][key]:
            plan.unchanged += 1
        else:
            plan.updated_rows += 1
    for pid, values in finals.items():
        current = currents[pid]
        incoming: dict[str, Any] = {"capabilities": {k: v for k, v in values.items() if k != AREA}}
        if AREA in values:
            incoming["service_area"] = values[AREA]
        before, after = diff(current, incoming)
        if after:
            plan.changes.append(Change(pid, current["uid"], before, after, current))
    return plan

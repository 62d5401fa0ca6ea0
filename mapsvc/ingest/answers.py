"""Coded multi-answer surveys: one row per provider, question and answer.

Older resource-map systems export survey results this way (``facility_id, question_cd,
answer_cd, answer_content``). The mapping's ``answers.questions`` says which capability
each question (or each answer of a multiple-choice question) sets. Rows only update
providers already in the registry; each row counts as updated, unchanged or rejected.
Options a provider did not tick are left as they were (the file does not say "no").
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from mapsvc.core.codes import nfkc
from mapsvc.core.registry import Change, diff, existing_by_source, existing_by_uid
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.ingest.mapping import Mapping
from mapsvc.ingest.plan import ImportPlan, Rejection
from mapsvc.ingest.reader import Table
from mapsvc.ingest.rows import _find


def plan_answers(
    session: Session, table: Table, mapping: Mapping, taxonomy: Taxonomy
) -> ImportPlan:
    """Plan capability updates from an answers file (see module docstring)."""
    from mapsvc.core.codes import header_key

    spec = mapping.answers
    assert spec is not None
    keys = {header_key(h): h for h in table.header}
    provider_col = _find(keys, spec.provider)
    question_col = _find(keys, spec.question)
    answer_col = _find(keys, spec.answer)
    text_col = _find(keys, spec.text) if spec.text else None
    plan = ImportPlan(
        table.path, mapping, spec.provider_source, rows=len(table.rows), header=table.header
    )
    if not (provider_col and question_col and answer_col):
        from mapsvc.core.errors import ImportFailed

        raise ImportFailed(
            f"{table.path}: line {table.header_line}: an answers file needs the columns "
            f"{spec.provider[0]}, {spec.question[0]} and {spec.answer[0]}",
            field="columns",
        )
    by_source = existing_by_source(session, spec.provider_source)
    by_uid: dict[str, dict[str, Any]] | None = None
    pending: dict[int, dict[str, Any]] = {}
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
        try:
            if "answers" in qspec:
                target = qspec["answers"].get(answer)
                if target is None:
                    raise ValueError(f"unknown answer code {answer!r} for question {question}")
                key = target["capability"]
                value = taxonomy.parse_value(
                    key, target.get("level", target.get("value", "accept"))
                )
            else:
                key = qspec["capability"]
                raw = spec.values.get(answer, answer) if answer in spec.values else (text or answer)
                if answer in spec.values and spec.values[answer] == "text":
                    raw = text
                value = taxonomy.parse_value(key, raw)
        except ValueError as exc:
            plan.rejections.append(Rejection(line, str(exc), row))
            continue
        if value is None:
            plan.rejections.append(Rejection(line, "empty answer", row))
            continue
        if current["type"] not in taxonomy.capabilities[key].applies_to:
            plan.rejections.append(
                Rejection(
                    line, f"capability {key} does not apply to provider type {current['type']}", row
                )
            )
            continue
        caps = pending.setdefault(current["id"], {})
        currents[current["id"]] = current
        if (current.get("capabilities") or {}).get(key) == value or caps.get(key) == value:
            plan.unchanged += 1
        else:
            plan.updated_rows += 1
        caps[key] = value
    for pid, caps in pending.items():
        current = currents[pid]
        before, after = diff(current, {"capabilities": caps})
        if after:
            plan.changes.append(Change(pid, current["uid"], before, after, current))
    return plan

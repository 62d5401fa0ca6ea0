"""The planner's charts read from the store: trend against target, 二次医療圏 comparison,
and where the data came from (for the printed report).

The specs are built by :mod:`mapsvc.planner.charts`; values come from the cached indicators
(:func:`mapsvc.planner.choropleth.cached_indicators`), the stored snapshots and targets
(:mod:`mapsvc.planner.indicators`) and the providers (whether anyone answered an item).
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from sqlalchemy import func, select

from mapsvc.core.errors import InvalidInput, NotFound
from mapsvc.core.models import ImportRun, IndicatorSnapshot, IndicatorTarget, Provider
from mapsvc.geo.areas import areas_frame
from mapsvc.planner.candidates import medical_areas
from mapsvc.planner.charts import (
    indicator_capability,
    medical_area_chart,
    trend_chart,
    unanswered_capabilities,
)
from mapsvc.planner.choropleth import cached_indicators
from mapsvc.planner.indicators import AREA_KINDS, stored_missing, value_state
from mapsvc.planner.inputs import providers_for


def _check_indicator(frame: Any, indicator: str) -> None:
    if not (frame["indicator"] == indicator).any():
        known = sorted(set(frame["indicator"]))[:8]
        raise InvalidInput(
            f"unknown indicator {indicator!r}; e.g. {', '.join(known)}", field="indicator"
        )


def _missing(services: Any, session: Any, indicator: str) -> bool:
    key = indicator_capability(indicator)
    if key is None:
        return False
    return key in unanswered_capabilities(providers_for(session), services.taxonomy)


def trend(
    services: Any,
    kind: str,
    code: str,
    indicator: str,
    dataset: str | None = None,
    lang: str = "ja",
    last: int | None = None,
) -> dict[str, Any]:
    """:func:`mapsvc.planner.charts.trend_chart` of one area: stored snapshots, then 現在
    (only the ``last`` newest snapshots when given: the printed report keeps to one page,
    and its caption says so).

    Raises
    ------
    InvalidInput
        Unknown area kind or indicator.
    NotFound
        No area of that kind with that code.
    """
    if kind not in AREA_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(AREA_KINDS)}", field="kind")
    _, frame = cached_indicators(services, dataset)
    _check_indicator(frame, indicator)
    rows = frame[
        (frame["area_kind"] == kind)
        & (frame["area_code"] == str(code))
        & (frame["indicator"] == indicator)
    ]
    if rows.empty:
        raise NotFound(f"no {kind} area with code {code}", field="code")
    with services.store.session() as session:
        stored = session.scalars(
            select(IndicatorSnapshot)
            .where(
                IndicatorSnapshot.area_kind == kind,
                IndicatorSnapshot.area_code == str(code),
                IndicatorSnapshot.indicator == indicator,
            )
            .order_by(IndicatorSnapshot.snapshot_date)
        ).all()
        target = session.scalar(
            select(IndicatorTarget.target).where(
                IndicatorTarget.area_kind == kind,
                IndicatorTarget.area_code == str(code),
                IndicatorTarget.indicator == indicator,
            )
        )
        missing = _missing(services, session, indicator)
        kept = list(stored)[-last:] if last else list(stored)
        # what each stored point was: a number, データなし or a rate over nobody
        states = [value_state(r.value, r.denominator, stored_missing(r)) for r in kept]
        points = [(r.snapshot_date, r.value) for r in kept]
    current = rows.iloc[0]
    points.append(("now" if lang == "en" else "現在", current["value"]))
    states.append(value_state(current["value"], current["denominator"], missing))
    spec = trend_chart(
        indicator, str(current["area_name"]), points, target, services.taxonomy, states, lang
    )
    if len(kept) < len(stored):
        spec["caption"] += (
            f" (the newest {len(kept)} of {len(stored)} snapshots)"
            if lang == "en"
            else f"（保存された{len(stored)}時点のうち直近{len(kept)}時点）"
        )
    return spec


def medical_area(
    services: Any,
    indicator: str,
    code: str | None = None,
    dataset: str | None = None,
    lang: str = "ja",
) -> dict[str, Any]:
    """:func:`mapsvc.planner.charts.medical_area_chart` for the 二次医療圏 ``code``, or the one
    holding municipality ``code``, or (no code) the loaded 圏域 with most municipalities.
    With fewer than two municipalities loaded, or none placed in a 圏域, the spec's
    ``absent`` says why and what to load."""
    _, frame = cached_indicators(services, dataset)
    _check_indicator(frame, indicator)
    with services.store.session() as session:
        munis = areas_frame(session, "municipality")
        smas = areas_frame(session, "secondary_medical_area")
        missing = _missing(services, session, indicator)
    ja = lang != "en"
    sma_names = dict(zip(smas["code"].astype(str), smas["name"], strict=True)) if len(smas) else {}
    absent = None
    members: list[str] = []
    chosen: str | None = None
    if len(munis) < 2:
        absent = (
            f"読み込まれている市町村が{len(munis)}つのため、二次医療圏内の市町村比較は表示できません"
            "（同じ圏域の市町村の境界を `mapsvc areas import` で読み込むと表示されます）"
            if ja
            else f"{len(munis)} municipality loaded: a comparison within the secondary medical "
            "area needs its other municipalities (load them with `mapsvc areas import`)"
        )
    else:
        mapping = medical_areas(munis, smas)
        groups: dict[str, list[str]] = {}
        for muni, sma in mapping.items():
            groups.setdefault(sma, []).append(muni)
        if code and str(code) in groups:
            chosen = str(code)
        elif code and str(code) in mapping:
            chosen = mapping[str(code)]
        elif groups:
            chosen = max(sorted(groups), key=lambda s: len(groups[s]))
        if chosen is None:
            absent = (
                "市町村がどの二次医療圏に属するか分かりません（二次医療圏の境界を読み込むか、"
                "市町村の parent_code に圏域コードを入れてください）"
                if ja
                else "The municipalities' secondary medical areas are unknown (load the "
                "areas' boundaries or give the municipalities a parent_code)"
            )
        else:
            members = sorted(groups[chosen])
    values = frame[frame["indicator"] == indicator]
    by_muni = values[values["area_kind"] == "municipality"].set_index("area_code")["value"]
    names = dict(zip(munis["code"].astype(str), munis["name"], strict=True)) if len(munis) else {}
    rows = [(str(names.get(m, m)), by_muni.get(m)) for m in members]
    sma_rows = values[(values["area_kind"] == "secondary_medical_area")]
    reference = sma_rows.set_index("area_code")["value"].get(chosen) if chosen else None
    return medical_area_chart(
        indicator,
        sma_names.get(chosen, chosen) if chosen else None,
        rows,
        reference,
        services.taxonomy,
        missing,
        absent,
        lang,
    )


def data_sources(services: Any, dataset: str) -> dict[str, Any]:
    """What the report prints under 出典: the population dataset and survey date, and the
    provider data's date (newest successful import and newest change in the registry)."""
    from mapsvc.planner.inputs import dataset_note

    with services.store.session() as session:
        note = dataset_note(services, session, dataset)
        run = session.execute(
            select(ImportRun.filename, ImportRun.finished_at)
            .where(ImportRun.status == "ok", ImportRun.finished_at.is_not(None))
            .order_by(ImportRun.finished_at.desc())
            .limit(1)
        ).first()
        changed = session.scalar(select(func.max(Provider.updated_at)))
    return {
        "population": note,
        "import_file": PurePath(run[0]).name if run else None,
        "import_date": run[1].date().isoformat() if run and run[1] else None,
        "providers_updated": changed.date().isoformat() if changed else None,
    }

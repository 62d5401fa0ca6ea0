"""Indicators per area, dated snapshots and targets (DESIGN.md section 7, FORMATS.md 3.6).

Per area (municipality, 日常生活圏域, and 二次医療圏 when several municipalities are
loaded) and per provider type and capability:

* ``count:type:<type>`` / ``count:cap:<key>`` — active providers located in the area
  (a capability counts when offered at the lowest accepting level: 要相談 or better, a
  flag set to yes, a choice with any value);
* ``per100k:…`` — per 100,000 residents (JMAP's way for medical resources);
* ``per1000_75:…`` — per 1,000 residents aged 75+ (JMAP's way for care);
* ``covered75:<key>`` — share of the area's 75+ population inside the service areas of
  providers offering ``<key>`` (default rule of :mod:`mapsvc.geo.service_areas`; the
  capabilities come from the ``PLANNER_COVERAGE_CAPABILITIES`` setting);
* ``population:total``, ``population:75+``.

Each value keeps its numerator and denominator, so a snapshot can be re-read and checked.
Snapshots (:func:`save_snapshot`) are stored by date; :func:`compare_snapshots` sets two
dates side by side; :func:`set_target` records a planner's target per indicator.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mapsvc.core.errors import InvalidInput, NotFound
from mapsvc.core.models import IndicatorSnapshot, IndicatorTarget, utcnow
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.geo.areas import codes_containing

AREA_KINDS = ("municipality", "daily_life_area", "secondary_medical_area", "custom")
COUNTABLE = ("level", "flag", "choice")
RATE_UNITS = {
    "count": ("件", "providers"),
    "per100k": ("件/10万人", "per 100,000 residents"),
    "per1000_75": ("件/75歳以上千人", "per 1,000 residents aged 75+"),
    "covered75": ("割合（75歳以上）", "share of residents aged 75+"),
    "population": ("人", "people"),
}


def indicator_unit(indicator: str, lang: str = "ja") -> str:
    """Unit of an indicator key, for legends and tables."""
    ja, en = RATE_UNITS.get(indicator.split(":", 1)[0], ("", ""))
    return en if lang == "en" else ja


def indicator_label(indicator: str, taxonomy: Taxonomy, lang: str = "ja") -> str:
    """Readable name: "訪問診療 件/10万人"."""
    parts = indicator.split(":")
    subject = parts[-1]
    if len(parts) == 3 and parts[1] == "type" and subject in taxonomy.provider_types:
        subject = taxonomy.provider_types[subject].label.get(lang)
    elif subject in taxonomy.capabilities:
        subject = taxonomy.capabilities[subject].label.get(lang)
    return f"{subject} ({indicator_unit(indicator, lang)})"


def _offered(taxonomy: Taxonomy, providers: gpd.GeoDataFrame) -> dict[str, np.ndarray]:
    caps = providers["capabilities"].to_numpy()
    out = {}
    for key, cap in taxonomy.capabilities.items():
        if cap.kind not in COUNTABLE:
            continue
        out[key] = np.array(
            [taxonomy.offers(key, (c or {}).get(key), "consult") for c in caps], dtype=bool
        )
    return out


def unanswered_keys(taxonomy: Taxonomy, active: gpd.GeoDataFrame) -> set[str]:
    """Capabilities that active providers of a type they apply to exist for but none has
    answered at all: their counts, rates and covered shares are missing data (データなし),
    not 0. (With no such provider at all, 0 is a fact, not a gap in the data.)"""
    caps = active["capabilities"].tolist() if len(active) else []
    types = active["type"].tolist() if len(active) else []
    out = set()
    for key, cap in taxonomy.capabilities.items():
        applies = set(cap.applies_to)
        asked = [c for c, t in zip(caps, types, strict=True) if not applies or t in applies]
        if asked and not any((c or {}).get(key) not in (None, {}, "") for c in asked):
            out.add(key)
    return out


def compute_indicators(
    providers: gpd.GeoDataFrame,
    population: gpd.GeoDataFrame,
    areas: dict[str, gpd.GeoDataFrame],
    taxonomy: Taxonomy,
    *,
    covered: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Indicators for every area of every kind given.

    Parameters
    ----------
    providers
        Provider frame (EPSG:4326); only active ones count.
    population
        Population points with ``total`` and ``75+``; area-only units (``placeable``
        False, no point) count in the area their ``area_code`` / ``municipality_code`` names.
    areas
        ``{kind: areas frame}`` (kinds of :data:`AREA_KINDS`; polygons in EPSG:4326).
        二次医療圏 are reported only when more than one municipality is loaded.
    taxonomy
        For types and capabilities.
    covered
        ``{capability: boolean mask over population}`` from coverage runs
        (``CoverageResult.covered``), for the ``covered75:`` indicators.

    Returns
    -------
    DataFrame
        Columns ``area_kind, area_code, area_name, indicator, value, numerator,
        denominator, missing``; a rate whose denominator is 0 has value NaN (shown as "–");
        a capability nobody has answered (:func:`unanswered_keys`) has value NaN, no
        numerator and ``missing`` True (shown as データなし), never 0.
    """
    active = providers[providers["status"].fillna("active").eq("active")]
    offered = _offered(taxonomy, active)
    unknown = unanswered_keys(taxonomy, active)
    types = active["type"].to_numpy(dtype=object)
    rows: list[dict[str, Any]] = []
    several = len(areas.get("municipality", [])) > 1
    for kind in AREA_KINDS:
        frame = areas.get(kind)
        if frame is None or len(frame) == 0:
            continue
        if kind == "secondary_medical_area" and not several:
            continue
        prov_area = codes_containing(active, frame)
        pop_area = _population_areas(population, frame, kind)
        totals = population["total"].to_numpy(dtype=np.int64)
        older = population["75+"].to_numpy(dtype=np.int64)
        for code, name in zip(frame["code"], frame["name"], strict=True):
            in_area = prov_area == code
            pop_in = pop_area == code
            total, old = int(totals[pop_in].sum()), int(older[pop_in].sum())

            head = {"area_kind": kind, "area_code": str(code), "area_name": name}

            def add(
                indicator: str,
                value: float,
                num: float | None,
                den: float | None,
                head=head,
                missing: bool = False,
            ) -> None:
                rows.append(
                    {
                        **head,
                        "indicator": indicator,
                        "value": float("nan") if missing else value,
                        "numerator": None if missing else num,
                        "denominator": den,
                        "missing": missing,
                    }
                )

            add("population:total", total, total, None)
            add("population:75+", old, old, None)
            subjects = [(f"type:{t}", in_area & (types == t)) for t in taxonomy.provider_types]
            subjects += [(f"cap:{k}", in_area & mask) for k, mask in offered.items()]
            for subject, mask in subjects:
                n = int(mask.sum())
                gap = subject.startswith("cap:") and subject[4:] in unknown
                add(f"count:{subject}", n, n, None, missing=gap)
                add(f"per100k:{subject}", _rate(n, total, 100_000), n, total, missing=gap)
                add(f"per1000_75:{subject}", _rate(n, old, 1_000), n, old, missing=gap)
            for key, mask in (covered or {}).items():
                cov = int(older[pop_in & mask].sum())
                add(f"covered75:{key}", _rate(cov, old, 1), cov, old, missing=key in unknown)
    return pd.DataFrame(
        rows,
        columns=[
            "area_kind",
            "area_code",
            "area_name",
            "indicator",
            "value",
            "numerator",
            "denominator",
            "missing",
        ],
    )


def _population_areas(population: gpd.GeoDataFrame, frame: gpd.GeoDataFrame, kind: str) -> Any:
    """Area code of each population unit: by its point, or, for an area-only unit (no
    point, ``placeable`` False), by the area or municipality code it carries."""
    if "placeable" not in population.columns or population["placeable"].all():
        return codes_containing(population, frame)
    placeable = population["placeable"].to_numpy(dtype=bool)
    out = np.full(len(population), None, dtype=object)
    if placeable.any():
        out[placeable] = codes_containing(population[placeable], frame)
    column = "municipality_code" if kind == "municipality" else "area_code"
    known = set(frame["code"].astype(str))
    values = population[column].tolist() if column in population.columns else []
    for i in np.flatnonzero(~placeable):
        code = values[i] if values else None
        if code is not None and str(code) in known:
            out[i] = str(code)
    return out


def _rate(num: float, den: float, per: float) -> float:
    return round(num / den * per, 4) if den else float("nan")


# ---- snapshots and targets -------------------------------------------------------------


def _check_date(value: str, field: str) -> str:
    try:
        return date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise InvalidInput(f"{value!r} is not a date (YYYY-MM-DD)", field=field) from None


def save_snapshot(
    session: Session, frame: pd.DataFrame, snapshot_date: str, label: str | None = None
) -> int:
    """Store indicators under a date (replacing that date's snapshot); returns the row count."""
    day = _check_date(snapshot_date, "date")
    session.execute(delete(IndicatorSnapshot).where(IndicatorSnapshot.snapshot_date == day))
    now = utcnow()
    objects = [
        IndicatorSnapshot(
            snapshot_date=day,
            label=label,
            area_kind=r.area_kind,
            area_code=r.area_code,
            indicator=r.indicator,
            value=_none(r.value),
            numerator=_none(r.numerator),
            denominator=_none(r.denominator),
            missing=_flag(getattr(r, "missing", False)),
            created_at=now,
        )
        for r in frame.itertuples(index=False)
    ]
    session.add_all(objects)
    return len(objects)


def _flag(value: Any) -> bool:
    """True only for a true boolean (a NaN or None from a merged frame is not データなし)."""
    return bool(value) if isinstance(value, bool | np.bool_) else False


def _none(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if np.isnan(value) else value


def stored_missing(row: IndicatorSnapshot) -> bool:
    """Whether a stored value is データなし (nobody answered the item). Rows stored before
    the state was kept (``missing`` NULL) are read by their numerator: an unanswered item
    was stored without one, a rate over nobody with its count over a denominator of 0."""
    if row.missing is not None:
        return bool(row.missing)
    return (
        row.value is None and row.numerator is None and not row.indicator.startswith("population:")
    )


def value_state(value: Any, denominator: Any, missing: bool) -> str | None:
    """``"missing"`` (データなし), ``"no_denominator"`` (a rate over nobody: 対象人口なし)
    or None (a number)."""
    if missing:
        return "missing"
    if _none(value) is None and denominator is not None and _none(denominator) == 0:
        return "no_denominator"
    return None


def snapshot_dates(session: Session) -> list[str]:
    """Dates with a stored snapshot, oldest first."""
    return list(
        session.scalars(
            select(IndicatorSnapshot.snapshot_date)
            .distinct()
            .order_by(IndicatorSnapshot.snapshot_date)
        )
    )


def load_snapshot(session: Session, snapshot_date: str) -> pd.DataFrame:
    """A stored snapshot as a frame (same columns as :func:`compute_indicators`, no names;
    ``missing`` as :func:`stored_missing` reads it).

    Raises
    ------
    NotFound
        No snapshot on that date (the message lists the stored dates).
    """
    day = _check_date(snapshot_date, "date")
    rows = session.scalars(
        select(IndicatorSnapshot).where(IndicatorSnapshot.snapshot_date == day)
    ).all()
    if not rows:
        stored = ", ".join(snapshot_dates(session)) or "none"
        raise NotFound(f"no indicator snapshot on {day} (stored: {stored})", field="date")
    return pd.DataFrame(
        [
            {
                "area_kind": r.area_kind,
                "area_code": r.area_code,
                "indicator": r.indicator,
                "value": np.nan if r.value is None else r.value,
                "numerator": r.numerator,
                "denominator": r.denominator,
                "missing": stored_missing(r),
            }
            for r in rows
        ]
    )


def compare_snapshots(session: Session, first: str, second: str) -> pd.DataFrame:
    """Two snapshots side by side: ``value_1``, ``value_2``, ``change`` (and ``missing_1``,
    ``missing_2``: データなし on that date) per area and indicator."""
    a = load_snapshot(session, first)
    b = load_snapshot(session, second)
    keys = ["area_kind", "area_code", "indicator"]
    merged = a[[*keys, "value", "missing"]].merge(
        b[[*keys, "value", "missing"]], on=keys, how="outer", suffixes=("_1", "_2")
    )
    merged["change"] = merged["value_2"] - merged["value_1"]
    return merged.sort_values(keys, ignore_index=True)


def set_target(
    session: Session, area_kind: str, area_code: str, indicator: str, target: float, set_by: str
) -> IndicatorTarget:
    """Record (or replace) the target of one indicator in one area."""
    try:
        value = float(target)
    except (TypeError, ValueError):
        raise InvalidInput("target must be a number", field="target") from None
    if not np.isfinite(value):
        raise InvalidInput("target must be a finite number", field="target")
    if area_kind not in AREA_KINDS:
        raise InvalidInput(
            f"area kind {area_kind!r}; expected one of {', '.join(AREA_KINDS)}", field="area_kind"
        )
    if indicator.split(":", 1)[0] not in RATE_UNITS:
        raise InvalidInput(f"unknown indicator {indicator!r}", field="indicator")
    row = session.scalar(
        select(IndicatorTarget).where(
            IndicatorTarget.area_kind == area_kind,
            IndicatorTarget.area_code == area_code,
            IndicatorTarget.indicator == indicator,
        )
    )
    if row is None:
        row = IndicatorTarget(area_kind=area_kind, area_code=area_code, indicator=indicator)
        session.add(row)
    row.target, row.set_by, row.set_at = value, set_by, utcnow()
    return row


def with_targets(session: Session, frame: pd.DataFrame) -> pd.DataFrame:
    """Add ``target`` and ``gap`` (target − value) columns from the stored targets."""
    targets = pd.DataFrame(
        [
            {
                "area_kind": t.area_kind,
                "area_code": t.area_code,
                "indicator": t.indicator,
                "target": t.target,
            }
            for t in session.scalars(select(IndicatorTarget)).all()
        ],
        columns=["area_kind", "area_code", "indicator", "target"],
    )
    out = frame.merge(targets, on=["area_kind", "area_code", "indicator"], how="left")
    out["gap"] = out["target"] - out["value"]
    return out

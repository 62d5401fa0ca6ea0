"""The editor's data-quality dashboard: stale, ungeocoded and conflicting records,
rejected import rows, and counts per provider type and per area.

Conflicting sources: the same provider imported from several sources (say the 医療機関
list and the 厚生局 届出 list) with different details. Two records from different sources
are flagged when their normalised names agree and they lie within
``CONFLICT_DISTANCE_M`` (distance in projected metres) or share a normalised address, or
when they share a normalised address and a provider type. Each pair lists the fields
that differ, so the editor can decide which source is right.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mapsvc.core.addresses import normalise as normalise_address
from mapsvc.core.addresses import split_prefecture_city
from mapsvc.core.models import Area, ImportRun, Provider, RejectedRow
from mapsvc.core.projection import to_metres, utm_crs_for_extent
from mapsvc.core.staleness import STATES, confirmation_state, cutoff
from mapsvc.core.taxonomy import Taxonomy
from mapsvc.geo.area_codes import area_table, unresolved_area
from mapsvc.upkeep.review import pending_count

CONFLICT_DISTANCE_M = 100.0
MAX_ADDRESS_GROUP = 6
COMPARED_FIELDS = (
    "name",
    "type",
    "address",
    "phone",
    "url",
    "hours",
    "fax",
    "phone_direct",
    "email",
)
_CORPORATE = re.compile(
    r"(医療法人社団|医療法人財団|医療法人|社会医療法人|社会福祉法人|一般社団法人|公益社団法人|"
    r"一般財団法人|公益財団法人|特定非営利活動法人|NPO法人|株式会社|有限会社|合同会社|"
    r"\(株\)|\(有\)|\(医\)|\(社福\))"
)
_PUNCT = re.compile(r"[\s・･.,、。\-‐－ー()（）「」『』\[\]]")
_COLUMNS = (
    Provider.id,
    Provider.uid,
    Provider.source,
    Provider.source_id,
    Provider.type,
    Provider.name,
    Provider.address,
    Provider.municipality_code,
    Provider.lon,
    Provider.lat,
    Provider.geocode_status,
    Provider.phone,
    Provider.url,
    Provider.hours,
    Provider.fax,
    Provider.phone_direct,
    Provider.email,
    Provider.capabilities,
    Provider.confirmed_at,
    Provider.confirmed_by,
    Provider.created_at,
    Provider.service_area,
)


def normalise_name(name: str | None) -> str:
    """Comparable provider name: NFKC, no corporate prefix, spaces or punctuation."""
    text = unicodedata.normalize("NFKC", name or "")
    text = _CORPORATE.sub("", text)
    return _PUNCT.sub("", text).casefold()


def address_key(address: str | None) -> str:
    """Comparable address without the prefecture (sources differ in whether they write it)."""
    if not address:
        return ""
    _, city, rest = split_prefecture_city(normalise_address(address))
    return f"{city}{rest}"


@dataclass
class ConflictPair:
    a: dict[str, Any]
    b: dict[str, Any]
    reason: str
    distance_m: float | None
    differences: list[tuple[str, Any, Any]]


@dataclass
class Dashboard:
    total: int
    states: dict[str, int]
    stale: list[dict[str, Any]]
    stale_count: int
    ungeocoded: list[dict[str, Any]]
    ungeocoded_count: int
    conflicts: list[ConflictPair]
    rejected_rows: list[dict[str, Any]]
    rejected_count: int
    by_type: list[dict[str, Any]]
    by_area: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    pending_submissions: int = 0
    conflict_count: int = 0
    # 対応地域を特定できません: codes service areas naming no loaded area (row + "unresolved")
    unresolved_areas: list[dict[str, Any]] = field(default_factory=list)
    unresolved_area_count: int = 0


def _differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    out = [
        (f, a.get(f), b.get(f)) for f in COMPARED_FIELDS if (a.get(f) or None) != (b.get(f) or None)
    ]
    caps_a, caps_b = a.get("capabilities") or {}, b.get("capabilities") or {}
    for key in sorted(set(caps_a) & set(caps_b)):
        if caps_a[key] != caps_b[key]:
            out.append((f"capabilities.{key}", caps_a[key], caps_b[key]))
    return out


def find_conflicts(
    records: list[dict[str, Any]], distance_m: float = CONFLICT_DISTANCE_M
) -> list[ConflictPair]:
    """Pairs of records from different sources that look like the same provider.

    Parameters
    ----------
    records
        Provider rows with ``uid, source, type, name, address, lon, lat`` and the compared
        fields.
    distance_m
        Largest distance between same-named records, in metres.
    """
    located = [r for r in records if r.get("lon") is not None and r.get("lat") is not None]
    xy: dict[str, tuple[float, float]] = {}
    if located:
        crs = utm_crs_for_extent([r["lon"] for r in located])
        xs, ys = to_metres(crs).transform(
            np.array([r["lon"] for r in located]), np.array([r["lat"] for r in located])
        )
        xy = {r["uid"]: (float(x), float(y)) for r, x, y in zip(located, xs, ys, strict=True)}

    def distance(a: Mapping[str, Any], b: Mapping[str, Any]) -> float | None:
        if a["uid"] in xy and b["uid"] in xy:
            (ax, ay), (bx, by) = xy[a["uid"]], xy[b["uid"]]
            return float(np.hypot(ax - bx, ay - by))
        return None

    akeys = {r["uid"]: address_key(r.get("address")) for r in records}
    by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
    by_address: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        if key := normalise_name(r.get("name")):
            by_name[key].append(r)
        if akey := akeys[r["uid"]]:
            by_address[(akey, r["type"])].append(r)
    pairs: dict[tuple[str, str], ConflictPair] = {}

    def consider(group: list[dict[str, Any]], same_name: bool) -> None:
        for a, b in combinations(group, 2):
            if a["source"] == b["source"]:
                continue
            key = tuple(sorted((a["uid"], b["uid"])))
            if key in pairs:
                continue
            d = distance(a, b)
            same_address = akeys[a["uid"]] == akeys[b["uid"]] != ""
            if same_name and d is not None and d <= distance_m:
                reason = f"same name, {d:.0f} m apart"
            elif same_address:
                reason = "same name and address" if same_name else "same address and type"
            else:
                continue
            pairs[key] = ConflictPair(a, b, reason, d, _differences(a, b))

    for group in by_name.values():
        if len(group) > 1:
            consider(group, True)
    for group in by_address.values():
        # many providers of one type at one address is a medical mall or a large
        # building, not one provider listed twice (and would cost n² comparisons)
        if 1 < len(group) <= MAX_ADDRESS_GROUP:
            consider(group, False)
    return sorted(pairs.values(), key=lambda p: (p.a.get("name") or "", p.b.get("name") or ""))


def _area_counts(
    session: Session, records: list[dict[str, Any]], kind: str, flags: dict[str, dict[str, bool]]
) -> list[dict[str, Any]]:
    from mapsvc.geo.areas import areas_frame

    frame = areas_frame(session, kind)
    if frame.empty:
        return []
    import shapely

    located = [r for r in records if r.get("lon") is not None and r.get("lat") is not None]
    assigned: dict[str, str] = {}
    if located:
        pts = shapely.points([(r["lon"], r["lat"]) for r in located])
        point_idx, area_idx = frame.sindex.query(pts, predicate="intersects")
        codes = frame["code"].astype(str).to_numpy()
        for p, a in sorted(
            zip(point_idx, area_idx, strict=True), key=lambda t: (t[0], codes[t[1]])
        ):
            assigned.setdefault(located[p]["uid"], codes[a])
    names = dict(zip(frame["code"].astype(str), frame["name"], strict=True))
    return _tally(records, lambda r: assigned.get(r["uid"], ""), names, flags)


def _tally(
    records: list[dict[str, Any]],
    key_of: Any,
    names: Mapping[str, str],
    flags: dict[str, dict[str, bool]],
) -> list[dict[str, Any]]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for r in records:
        c = counts[key_of(r) or ""]
        c["total"] += 1
        for name, on in flags[r["uid"]].items():
            c[name] += int(on)
    return [
        {"code": code, "name": names.get(code, "") if code else "", **dict(c)}
        for code, c in sorted(counts.items(), key=lambda kv: (kv[0] == "", kv[0]))
    ]


def _row(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: r.get(k)
        for k in (
            "uid",
            "name",
            "type",
            "address",
            "source",
            "confirmed_at",
            "confirmed_by",
            "geocode_status",
        )
    }


def build_dashboard(
    session: Session,
    taxonomy: Taxonomy,
    *,
    now: datetime,
    config: Mapping[str, Any],
    limit: int = 200,
    area_kinds: tuple[str, ...] = ("daily_life_area",),
) -> Dashboard:
    """Everything the editor's dashboard shows, computed from the store.

    Parameters
    ----------
    session
        Open store session.
    taxonomy
        For type labels.
    now
        Current time (naive UTC).
    config
        ``STALE_MONTHS``, ``RECONFIRM_MONTHS``, ``UNCONFIRMED_MONTHS``.
    limit
        Rows listed per section (counts are always complete).
    area_kinds
        Area kinds (from the ``areas`` table) to count providers in, besides municipalities.
    """
    records = [
        dict(r) for r in session.execute(select(*_COLUMNS).order_by(Provider.name)).mappings()
    ]
    stale_before = cutoff(now, int(config.get("STALE_MONTHS", 12)))
    flags: dict[str, dict[str, bool]] = {}
    states: Counter[str] = Counter()
    for r in records:
        state = confirmation_state(r, now, config)
        states[state] += 1
        flags[r["uid"]] = {
            "stale": r["confirmed_at"] is None or r["confirmed_at"] <= stale_before,
            "ungeocoded": r["geocode_status"] == "pending",
            "unconfirmed": state == "unconfirmed",
        }
    stale = [r for r in records if flags[r["uid"]]["stale"]]
    stale.sort(key=lambda r: (r["confirmed_at"] is not None, r["confirmed_at"] or now))
    ungeocoded = [r for r in records if flags[r["uid"]]["ungeocoded"]]
    rejected = session.execute(
        select(RejectedRow, ImportRun)
        .join(ImportRun, ImportRun.id == RejectedRow.import_run_id)
        .order_by(ImportRun.started_at.desc(), RejectedRow.line)
        .limit(limit)
    ).all()
    rejected_count = session.scalar(select(func.count()).select_from(RejectedRow)) or 0
    type_labels = {k: t.label.ja for k, t in taxonomy.provider_types.items()}
    municipality_names = dict(
        session.execute(select(Area.code, Area.name).where(Area.kind == "municipality")).all()
    )
    by_area = {
        "municipality": _tally(
            records, lambda r: r.get("municipality_code"), municipality_names, flags
        )
    }
    conflicts = find_conflicts(records)
    known = area_table(session)
    unresolved = [
        {**_row(r), "unresolved": missing}
        for r in records
        if (missing := unresolved_area(r.get("service_area"), known))
    ]
    for kind in area_kinds:
        counts = _area_counts(session, records, kind, flags)
        if counts:
            by_area[kind] = counts
    return Dashboard(
        total=len(records),
        states={s: states.get(s, 0) for s in STATES},
        stale=[_row(r) for r in stale[:limit]],
        stale_count=len(stale),
        ungeocoded=[_row(r) for r in ungeocoded[:limit]],
        ungeocoded_count=len(ungeocoded),
        conflicts=conflicts[:limit],
        conflict_count=len(conflicts),
        rejected_rows=[
            {
                "run_id": run.id,
                "filename": run.filename,
                "at": run.started_at,
                "line": row.line,
                "reason": row.reason,
                "row": row.row,
            }
            for row, run in rejected
        ],
        rejected_count=int(rejected_count),
        by_type=_tally(records, lambda r: r["type"], type_labels, flags),
        by_area=by_area,
        pending_submissions=pending_count(session),
        unresolved_areas=unresolved[:limit],
        unresolved_area_count=len(unresolved),
    )

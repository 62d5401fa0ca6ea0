"""The finder: which providers can serve a patient at this point, with these needs.

:func:`find_providers` takes a point, a :class:`~mapsvc.core.filters.FilterSet` (required
capabilities with minimum levels, optional provider types) and the provider index, and
returns the providers whose **service area covers the point** (DESIGN.md section 6):

* explicit area (polygon, or area codes resolved to loaded area polygons): the point is
  inside the polygon (boundary included);
* travel time (provider's own minutes, else the type's default), when a road network is
  loaded: driving from the provider's nearest node to within ``access_m`` of the patient
  takes at most that long — exactly the planner's rule, so the finder agrees with the
  service-area polygons on the planner's map (:func:`mapsvc.geo.area_check.times_to_point`:
  one Dijkstra backwards from the point per request, then a look-up per provider);
* straight-line radius (provider's own km, else the type's default — 16 km for clinics and
  hospitals, the 訪問診療/往診 distance rule): the point is within the radius. A travel-time
  provider falls back to its type's radius, saying so, when it or the patient is off the
  network.

Each match carries the distance, the travel time (when a network is loaded), the reasons
it matched (each required capability with the provider's level, and the area rule).

Order (DESIGN.md section 7: referrals are neutral)
--------------------------------------------------
By travel time in whole minutes when a network is loaded (providers without a travel
time after those with one), then by distance in 0.1 km — the values the user sees. Ties
in what the user sees are broken by a random permutation drawn from a per-request
``seed``, so no provider is always first among equals. The seed is returned, so an export
can repeat the order the user saw. :func:`nearby_providers` (the public address search)
orders by distance with the same tie rule.

Nothing here knows about Flask, and nothing here logs: the point may be a patient's home.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from mapsvc.core.filters import FilterSet
from mapsvc.finder.answers import answers_of
from mapsvc.finder.index import RULE_POLYGON, RULE_RADIUS, RULE_TRAVEL, ProviderIndex
from mapsvc.finder.reach import ReachGrid
from mapsvc.finder.reasons import Text, area_reason, capability_reason, minutes_text
from mapsvc.geo.area_check import times_to_point

DEFAULT_HORIZON_MIN = 60.0  # travel times are computed at least this far, for ordering
_RULE_NAMES = {RULE_POLYGON: "polygon", RULE_TRAVEL: "travel_time"}  # else "radius"


@dataclass
class Match:
    """One provider that covers the point, and why."""

    pos: int
    uid: str
    distance_m: float
    travel_s: float | None
    area_rule: str  # "polygon" | "travel_time" | "radius"
    reasons: list[Text]
    rank: int = 0
    answers: tuple[Any, ...] = ()  # its stored answers to the asked capabilities, in order

    @property
    def distance_km(self) -> float:
        return round(self.distance_m / 1000.0, 1)

    @property
    def travel_min(self) -> int | None:
        return None if self.travel_s is None else int(round(self.travel_s / 60.0))

    def travel_text(self) -> Text | None:
        """「車で約 7 分」, or 「車で1分未満」 when the drive rounds to 0 minutes."""
        return None if self.travel_s is None else minutes_text(self.travel_s)


@dataclass
class FinderResult:
    lon: float
    lat: float
    filters: FilterSet
    matches: list[Match]
    order: str  # "travel_time" | "distance"
    seed: int
    network: bool
    notes: list[Text] = field(default_factory=list)
    considered: int = 0  # providers passing the capability filter, before coverage

    def order_note(self) -> Text:
        """Why the list is in this order, for the user to see."""
        tie = (
            "表示される値が同じ事業所の間の順番は、検索のたびに無作為に決まります。",
            "Among providers with the same shown values the order is random on every search.",
        )
        if self.order == "travel_time":
            return Text(
                "車での所要時間（分）の短い順、同じなら直線距離の短い順です。" + tie[0],
                "Ordered by driving time (minutes), then straight-line distance. " + tie[1],
            )
        if self.network:  # a network is loaded, but this point is off it
            return Text(
                "直線距離の短い順です（この地点の近くに道路網がないため所要時間は使っていません）。"
                + tie[0],
                "Ordered by straight-line distance (the point is off the road network, so "
                "no travel times). " + tie[1],
            )
        return Text(
            "直線距離の短い順です（道路網が読み込まれていないため所要時間は使っていません）。"
            + tie[0],
            "Ordered by straight-line distance (no road network is loaded, so no travel "
            "times). " + tie[1],
        )


def new_seed() -> int:
    """A fresh per-request seed for tie-breaking."""
    return secrets.randbits(31)


def fair_order(primary: np.ndarray, secondary: np.ndarray, seed: int) -> np.ndarray:
    """Indices sorting by ``primary`` then ``secondary``, ties in random order from ``seed``."""
    n = len(primary)
    shuffle = np.random.default_rng(seed).permutation(n)
    return np.lexsort((shuffle, secondary, primary))


def find_providers(
    index: ProviderIndex,
    lon: float,
    lat: float,
    filters: FilterSet,
    *,
    road: Any = None,
    snap_m: float = 1000.0,
    access_m: float = 300.0,
    seed: int | None = None,
    limit: int | None = None,
    horizon_min: float = DEFAULT_HORIZON_MIN,
) -> FinderResult:
    """Providers whose service area covers the point and that meet ``filters``.

    Parameters
    ----------
    index
        The provider index (:func:`mapsvc.finder.index.shared_index`).
    lon, lat
        The point (EPSG:4326), e.g. a patient's home.
    filters
        Required capabilities (all) and provider types (any).
    road
        The active network as a :class:`mapsvc.geo._road_index.RoadIndex`
        (``mapsvc.planner.inputs.road_index``), or None: then travel-time areas fall back
        to the types' radius and the order is by distance.
    snap_m
        A provider (or the point) farther than this from the nearest network node is off
        the network (setting ``SERVICE_AREA_SNAP_M``).
    access_m
        A place is reached when the drive gets within this many metres of it (setting
        ``SERVICE_AREA_ACCESS_M``; the planner's rule, :mod:`mapsvc.geo.area_check`).
    seed
        Tie-break seed; a fresh one when None (pass the returned one to repeat an order).
    limit
        Keep at most this many matches (after ordering).
    horizon_min
        Travel times are computed up to at least this many minutes, for ordering.

    Returns
    -------
    FinderResult
    """
    seed = new_seed() if seed is None else int(seed)
    taxonomy = index.taxonomy
    mask = index.filter_mask(filters)
    notes: list[Text] = []
    result = FinderResult(
        float(lon),
        float(lat),
        filters,
        [],
        "travel_time" if road is not None else "distance",
        seed,
        road is not None,
        notes,
        int(np.count_nonzero(mask)),
    )
    if result.considered == 0:
        return result
    px, py = index.project(lon, lat)
    point = shapely.Point(px, py)
    poly_hits = (
        np.empty(0, dtype=np.int64)
        if index.poly_tree is None
        else np.asarray(index.poly_tree.query(point, predicate="intersects"), dtype=np.int64)
    )
    times = None
    if road is not None:
        nodes, on_net = index.road_nodes(road, snap_m)
        rx, ry = index.project_to(road.crs, lon, lat)
        _pnode, pdist = road.snap(np.array([[rx, ry]]))
        if pdist[0] <= snap_m:
            need = index.minutes[mask & (np.asarray(index.rule) == RULE_TRAVEL)]
            need_s = float(np.nanmax(need)) * 60.0 if need.size else 0.0
            times = times_to_point(road, rx, ry, access_m, max(need_s, horizon_min * 60.0))
            if not np.isfinite(times).any():
                times = None  # no road within access_m of the point
    # only the providers whose area can reach the point (mapsvc.finder.reach), ascending
    reachable = [ReachGrid.of(index).near(px, py), np.asarray(index.poly_pos)[poly_hits]]
    if times is not None:
        reached = (np.asarray(index.rule) == RULE_TRAVEL) & on_net & np.isfinite(times[nodes])
        reachable.append(np.flatnonzero(reached))
    near = np.concatenate(reachable).astype(np.int64)
    cand = np.unique(near[mask[near]])
    d = index.xy[cand] - np.array([px, py])
    dist = np.hypot(d[:, 0], d[:, 1])
    rule = index.rule[cand].copy()
    fallback = np.zeros(len(cand), dtype=object)  # why a travel provider uses the radius

    travel_s = np.full(len(cand), np.nan)
    if road is not None:
        if times is None:
            notes.append(
                Text(
                    f"指定の地点の近く（{access_m:,.0f} m 以内）に道路網がない（最寄りの交差点まで {pdist[0]:,.0f} m）ため、所要時間は使わず直線距離で判定しました。",
                    f"No road of the network is within {access_m:,.0f} m of the point (nearest junction {pdist[0]:,.0f} m), so straight-line distance was used instead of travel time.",
                )
            )
            result.order = "distance"
            fallback[rule == RULE_TRAVEL] = "point_off_network"
            rule[rule == RULE_TRAVEL] = RULE_RADIUS
        else:
            travel_s = times[nodes[cand]]
            off = ~on_net[cand]
            travel_s[off] = np.nan
            travel_s[~np.isfinite(travel_s)] = np.nan
            moved = (rule == RULE_TRAVEL) & off
            fallback[moved] = "provider_off_network"
            rule[moved] = RULE_RADIUS
    else:
        rule[rule == RULE_TRAVEL] = RULE_RADIUS
        fallback[index.rule[cand] == RULE_TRAVEL] = "no_network"

    covered = np.zeros(len(cand), dtype=bool)
    is_radius = rule == RULE_RADIUS
    covered[is_radius] = dist[is_radius] <= index.radius_m[cand][is_radius]
    is_travel = rule == RULE_TRAVEL
    if is_travel.any():
        limit_s = index.minutes[cand][is_travel] * 60.0
        t = travel_s[is_travel]
        covered[is_travel] = np.isfinite(t) & (t <= limit_s)
    is_poly = rule == RULE_POLYGON
    if is_poly.any() and index.poly_tree is not None:
        inside = set(index.poly_pos[poly_hits].tolist())
        covered[is_poly] = [int(p) in inside for p in cand[is_poly]]

    keep = np.flatnonzero(covered)
    if keep.size == 0:
        return result
    minutes_shown = np.where(np.isnan(travel_s[keep]), np.inf, np.round(travel_s[keep] / 60.0))
    km_shown = np.round(dist[keep] / 100.0)
    primary = minutes_shown if result.order == "travel_time" else km_shown
    order = keep[fair_order(primary, km_shown, seed)]
    if limit is not None:
        order = order[: max(0, int(limit))]
    said: dict[tuple[int, int], Text] = {}  # the same answer reads the same: build it once
    keys = [f.key for f in filters.capabilities]
    positions = cand[order].tolist()
    # shared answers are one object per distinct answer; every answer stays alive (in
    # ``answers``) while ``said`` is used, so an object's id names one answer here
    answers = answers_of(index, positions, keys)

    picked = zip(order.tolist(), positions, answers, strict=True)
    for rank, (j, pos, asked) in enumerate(picked, start=1):
        reasons = []
        for k, (f, v) in enumerate(zip(filters.capabilities, asked, strict=True)):
            text = said.get((k, id(v)))
            if text is None:
                text = said[(k, id(v))] = capability_reason(f, v, taxonomy)
            reasons.append(text)
        t = None if np.isnan(travel_s[j]) else float(travel_s[j])
        reasons.append(area_reason(index, pos, int(rule[j]), float(dist[j]), t, fallback[j]))
        result.matches.append(
            Match(
                pos=pos,
                uid=str(index.uids[pos]),
                distance_m=float(dist[j]),
                travel_s=t,
                area_rule=_RULE_NAMES.get(int(rule[j]), "radius"),
                reasons=reasons,
                rank=rank,
                answers=asked,
            )
        )
    return result


@dataclass
class Nearby:
    pos: int
    uid: str
    distance_m: float

    @property
    def distance_km(self) -> float:
        return round(self.distance_m / 1000.0, 1)


def nearby_providers(
    index: ProviderIndex,
    lon: float,
    lat: float,
    filters: FilterSet,
    *,
    limit: int = 20,
    max_km: float | None = None,
    seed: int | None = None,
) -> list[Nearby]:
    """The ``limit`` nearest active providers passing ``filters``, by straight-line distance.

    Distances are compared in 0.1 km (what the user sees); equal ones in random order.
    """
    mask = index.filter_mask(filters)
    cand = np.flatnonzero(mask)
    if cand.size == 0:
        return []
    dist = index.distances(lon, lat, cand)
    if max_km is not None:
        near = dist <= max_km * 1000.0
        cand, dist = cand[near], dist[near]
    shown = np.round(dist / 100.0)
    order = fair_order(shown, shown, new_seed() if seed is None else seed)[:limit]
    return [Nearby(int(cand[j]), str(index.uids[cand[j]]), float(dist[j])) for j in order]

"""Candidates for 在宅医療において積極的役割を担う医療機関, per municipality (DESIGN.md section 7).

The rule, applied to active providers located in the municipality:

1. every 在宅療養支援病院 (capability ``home_care_support_hospital``, any class);
2. if there is none: the 在宅療養支援診療所 (``home_care_support_clinic``), preferring
   機能強化型 (``enhanced_single`` then ``enhanced_linked``) — only the 機能強化型 ones are
   proposed when any exists, else the 従来型 (``conventional``) ones;
3. if there are neither: the candidates of the *neighbouring* municipalities (polygons
   touching, within 50 m) in the same 二次医療圏, found by steps 1-2 there;
4. else none, said so.

A registration nobody has answered at all (no active hospital has any
``home_care_support_hospital`` value, or no clinic any ``home_care_support_clinic``: the
厚生局 届出 list was not loaded) is **unknown**, not absent: the result lists it under
``unknown`` and the reasons say データなし for it instead of "there is none"; when both are
unknown the branch is ``unknown`` (no candidate can be decided).

Every candidate carries the reason in Japanese and English. Within a step the order is
the class (単独型, 連携型, 従来型) then the name, so no provider comes first without a
visible reason.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np

from mapsvc.core.taxonomy import Taxonomy
from mapsvc.geo.areas import codes_containing
from mapsvc.planner.coverage import MISSING_EN, MISSING_JA
from mapsvc.planner.indicators import unanswered_keys

HOSPITAL = "home_care_support_hospital"
CLINIC = "home_care_support_clinic"
ENHANCED = ("enhanced_single", "enhanced_linked")
CLASS_ORDER = {"enhanced_single": 0, "enhanced_linked": 1, "conventional": 2}
NEIGHBOUR_TOLERANCE_M = 50.0


def _municipality_of(providers: gpd.GeoDataFrame, municipalities: gpd.GeoDataFrame) -> np.ndarray:
    """Municipality code per provider: the polygon holding it, else its code's first 5 digits."""
    codes = codes_containing(providers, municipalities)
    by_prefix = {str(c)[:5]: str(c) for c in municipalities["code"]}
    for i, own in enumerate(providers["municipality_code"].fillna("").astype(str)):
        if not codes[i] and own:
            codes[i] = by_prefix.get(own[:5], "")
    return codes


def _value(caps: Any, key: str) -> str | None:
    value = (caps or {}).get(key) or {}
    option = value.get("value") if isinstance(value, dict) else None
    return str(option) if option else None


def _own_candidates(
    providers: gpd.GeoDataFrame, in_muni: np.ndarray, taxonomy: Taxonomy
) -> tuple[str, list[dict[str, Any]]]:
    """(branch, candidates) by steps 1-2 for one municipality's providers."""
    found: dict[str, list[dict[str, Any]]] = {"hospital": [], "clinic": []}
    for row in providers[in_muni].itertuples(index=False):
        for branch, key in (("hospital", HOSPITAL), ("clinic", CLINIC)):
            option = _value(row.capabilities, key)
            if option:
                label = taxonomy.capabilities[key]
                opt = label.options.get(option)
                found[branch].append(
                    {
                        "uid": row.uid,
                        "name": row.name,
                        "type": row.type,
                        "class": option,
                        "reason_ja": f"{label.label.ja}（{opt.ja if opt else option}）",
                        "reason_en": f"{label.label.en} ({opt.en if opt else option})",
                    }
                )
    for items in found.values():
        items.sort(key=lambda c: (CLASS_ORDER.get(c["class"], 9), c["name"]))
    if found["hospital"]:
        return "hospital", found["hospital"]
    enhanced = [c for c in found["clinic"] if c["class"] in ENHANCED]
    if enhanced:
        return "enhanced_clinic", enhanced
    if found["clinic"]:
        return "clinic", found["clinic"]
    return "none", []


def _medical_area(municipalities: gpd.GeoDataFrame, smas: gpd.GeoDataFrame) -> dict[str, str]:
    """二次医療圏 code per municipality: parent_code / properties, else the polygon holding it."""
    sma_codes = set(smas["code"].astype(str)) if len(smas) else set()
    out: dict[str, str] = {}
    for row in municipalities.itertuples(index=False):
        props = row.properties if isinstance(row.properties, dict) else {}
        for candidate in (row.parent_code, props.get("secondary_medical_area")):
            if candidate and (not sma_codes or str(candidate) in sma_codes):
                out[str(row.code)] = str(candidate)
                break
    missing = municipalities[~municipalities["code"].astype(str).isin(out)]
    if len(missing) and len(smas):
        points = missing.copy()
        points.geometry = missing.geometry.representative_point()
        joined = gpd.sjoin(
            points[["code", "geometry"]],
            smas[["code", "geometry"]].rename(columns={"code": "sma"}),
            how="inner",
            predicate="intersects",
        )
        for code, sma in zip(joined["code"], joined["sma"], strict=True):
            out.setdefault(str(code), str(sma))
    return out


def medical_areas(municipalities: gpd.GeoDataFrame, smas: gpd.GeoDataFrame) -> dict[str, str]:
    """二次医療圏 code per municipality code (the rule of :func:`find_candidates`)."""
    return _medical_area(municipalities, smas)


def _neighbours(municipalities: gpd.GeoDataFrame) -> dict[str, list[str]]:
    from mapsvc.core.projection import utm_crs_for_extent

    frame = municipalities[municipalities.geometry.notna()]
    if len(frame) < 2:
        return {}
    crs = utm_crs_for_extent(frame.geometry.representative_point().x.to_numpy())
    metres = frame.to_crs(crs)
    grown = metres.geometry.buffer(NEIGHBOUR_TOLERANCE_M)
    codes = metres["code"].astype(str).tolist()
    out: dict[str, list[str]] = {c: [] for c in codes}
    for i, geom in enumerate(grown):
        for j in metres.sindex.query(geom, predicate="intersects"):
            if j != i:
                out[codes[i]].append(codes[j])
    return {k: sorted(set(v)) for k, v in out.items()}


def find_candidates(
    providers: gpd.GeoDataFrame,
    municipalities: gpd.GeoDataFrame,
    secondary_medical_areas: gpd.GeoDataFrame | None,
    taxonomy: Taxonomy,
) -> list[dict[str, Any]]:
    """Candidates per municipality by the rule in the module docstring.

    Parameters
    ----------
    providers
        Provider frame (EPSG:4326); only active providers count.
    municipalities
        ``areas_frame(session, "municipality")``.
    secondary_medical_areas
        ``areas_frame(session, "secondary_medical_area")`` or None; a municipality's
        二次医療圏 is its ``parent_code`` (or ``properties.secondary_medical_area``) when
        that names one, else the 二次医療圏 polygon holding it.

    Returns
    -------
    list of dict
        Per municipality (by code): ``code``, ``name``, ``branch`` (hospital,
        enhanced_clinic, clinic, neighbour, none), ``reason_ja``, ``reason_en`` and
        ``candidates`` (``uid, name, type, class, reason_ja, reason_en`` and, for
        neighbours, ``municipality``).
    """
    active = providers[providers["status"].fillna("active").eq("active")]
    muni_of = _municipality_of(active, municipalities)
    names = dict(zip(municipalities["code"].astype(str), municipalities["name"], strict=True))
    own = {code: _own_candidates(active, muni_of == code, taxonomy) for code in names}
    smas = secondary_medical_areas if secondary_medical_areas is not None else gpd.GeoDataFrame()
    sma_of = _medical_area(municipalities, smas) if len(municipalities) else {}
    neighbours = _neighbours(municipalities)
    unknown = [k for k in (HOSPITAL, CLINIC) if k in unanswered_keys(taxonomy, active)]
    labels = {k: taxonomy.capabilities[k].label for k in (HOSPITAL, CLINIC)}
    gap_ja = "・".join(labels[k].ja for k in unknown) + f"の届出は{MISSING_JA}"
    gap_en = " and ".join(labels[k].en for k in unknown) + f" registrations: {MISSING_EN}"
    out = []
    for code in sorted(names):
        branch, cands = own[code]
        reason = _reason(branch, HOSPITAL in unknown, gap_ja, gap_en)
        if branch == "none" and len(unknown) == 2:
            branch = "unknown"
            reason = (
                f"{gap_ja}。候補を判断できません",
                f"{gap_en}; no candidate can be decided",
            )
        elif branch == "none":
            sma = sma_of.get(code)
            near = [n for n in neighbours.get(code, []) if sma and sma_of.get(n) == sma]
            cands = []
            for n in near:
                n_branch, n_cands = own[n]
                for c in n_cands:
                    cands.append(
                        {
                            **c,
                            "municipality": n,
                            "reason_ja": f"隣接する{names[n]}（同じ二次医療圏）の{c['reason_ja']}",
                            "reason_en": f"{c['reason_en']} in neighbouring {names[n]} (same secondary medical area)",
                        }
                    )
            if cands:
                branch = "neighbour"
                reason = (
                    "市町村内に在宅療養支援病院・診療所がないため、同じ二次医療圏の隣接市町村の医療機関",
                    "None in the municipality; those of neighbouring municipalities in the same secondary medical area",
                )
            elif not sma:
                reason = (
                    "在宅療養支援病院・診療所がなく、二次医療圏が読み込まれていないため隣接市町村を探せません",
                    "No home care support hospital or clinic, and no secondary medical area is loaded to look at neighbours",
                )
            else:
                reason = (
                    "市町村内にも、同じ二次医療圏の隣接市町村にも在宅療養支援病院・診療所がありません",
                    "No home care support hospital or clinic here or in neighbouring municipalities of the same secondary medical area",
                )
            if unknown:  # one of the two is unknown: say so, do not claim it is absent
                known = labels[CLINIC if HOSPITAL in unknown else HOSPITAL]
                reason = (
                    f"{gap_ja}。{reason[0].replace('在宅療養支援病院・診療所', known.ja)}",
                    f"{gap_en}. {reason[1].replace('home care support hospital or clinic', known.en)}",
                )
        assert reason is not None
        out.append(
            {
                "code": code,
                "name": names[code],
                "branch": branch,
                "reason_ja": reason[0],
                "reason_en": reason[1],
                "candidates": cands,
                "unknown": [
                    {"capability": k, "label": labels[k].ja, "message": MISSING_JA} for k in unknown
                ],
            }
        )
    return out


def _reason(branch: str, hospital_unknown: bool, gap_ja: str, gap_en: str) -> Any:
    """The reason of branches 1-2 (None for the others), saying データなし for an unknown
    hospital registration instead of "there is none"."""
    if hospital_unknown and branch in ("enhanced_clinic", "clinic"):
        kind = (
            ("機能強化型", "enhanced")
            if branch == "enhanced_clinic"
            else ("従来型", "conventional")
        )
        return (
            f"{gap_ja}。{kind[0]}の在宅療養支援診療所",
            f"{gap_en}; {kind[1]} home care support clinics",
        )
    return {
        "hospital": (
            "市町村内に在宅療養支援病院があります",
            "The municipality has home care support hospitals",
        ),
        "enhanced_clinic": (
            "在宅療養支援病院がないため、機能強化型の在宅療養支援診療所",
            "No home care support hospital; enhanced home care support clinics",
        ),
        "clinic": (
            "在宅療養支援病院・機能強化型がないため、従来型の在宅療養支援診療所",
            "No home care support hospital or enhanced clinic; conventional home care support clinics",
        ),
    }.get(branch)

"""積極的役割を担う医療機関 candidates: each branch of the rule (DESIGN.md section 7)."""

from __future__ import annotations

import geopandas as gpd
import shapely
from planner_support import lonlat, providers_frame

from mapsvc.core.taxonomy import load_taxonomy
from mapsvc.planner.candidates import find_candidates

TAX = load_taxonomy("layers")


def _square(x0: float, x1: float) -> shapely.Polygon:
    return shapely.Polygon([lonlat(x0, 0), lonlat(x1, 0), lonlat(x1, 1000), lonlat(x0, 1000)])


def _areas():
    """Four municipalities in a row (A|B|C|D, 1 km wide); A-C in 二次医療圏 S1, D in S2."""
    munis = gpd.GeoDataFrame(
        {
            "kind": "municipality",
            "code": ["372013", "372021", "372030", "372048"],
            "name": ["A市", "B町", "C村", "D市"],
            "parent_code": ["S1", "S1", "S1", None],
            "municipality_code": ["372013", "372021", "372030", "372048"],
            "properties": [{}, {}, {}, {}],
        },
        geometry=[_square(0, 1000), _square(1000, 2000), _square(2000, 3000), _square(3000, 4000)],
        crs="EPSG:4326",
    )
    smas = gpd.GeoDataFrame(
        {"kind": "secondary_medical_area", "code": ["S1", "S2"], "name": ["圏1", "圏2"]},
        geometry=[_square(0, 3000), _square(3000, 4000)],
        crs="EPSG:4326",
    )
    return munis, smas


def _zaishi(x: float, ptype: str, option: str, name: str, **kw):
    key = "home_care_support_hospital" if ptype == "hospital" else "home_care_support_clinic"
    return {
        "dx": x,
        "dy": 500,
        "type": ptype,
        "name": name,
        "capabilities": {key: {"value": option}},
        **kw,
    }


def _by_code(result):
    return {r["code"]: r for r in result}


def test_each_branch_of_the_rule() -> None:
    munis, smas = _areas()
    prov = providers_frame(
        [
            # A: a 在支病 and an enhanced clinic -> only the hospital
            _zaishi(100, "hospital", "conventional", "A病院"),
            _zaishi(200, "clinic", "enhanced_single", "A診療所"),
            # B: conventional and enhanced (linked, single) clinics -> enhanced only, single first
            _zaishi(1100, "clinic", "conventional", "B従来"),
            _zaishi(1200, "clinic", "enhanced_linked", "B連携"),
            _zaishi(1300, "clinic", "enhanced_single", "B単独"),
            _zaishi(1400, "hospital", "enhanced_single", "B閉院", status="closed"),
            # C: nothing -> neighbour B (same S1); D is adjacent but in S2 and has a hospital
            _zaishi(3500, "hospital", "enhanced_linked", "D病院"),
        ]
    )
    result = _by_code(find_candidates(prov, munis, smas, TAX))
    a = result["372013"]
    assert a["branch"] == "hospital" and [c["name"] for c in a["candidates"]] == ["A病院"]
    assert a["candidates"][0]["reason_ja"] == "在宅療養支援病院（従来型）"
    b = result["372021"]
    assert b["branch"] == "enhanced_clinic"
    assert [c["name"] for c in b["candidates"]] == ["B単独", "B連携"]
    c = result["372030"]
    assert c["branch"] == "neighbour"
    assert [(x["name"], x["municipality"]) for x in c["candidates"]] == [
        ("B単独", "372021"),
        ("B連携", "372021"),
    ]
    assert "隣接するB町（同じ二次医療圏）" in c["candidates"][0]["reason_ja"]
    assert result["372048"]["branch"] == "hospital"


def test_conventional_clinics_when_no_enhanced_and_none_when_nothing_near() -> None:
    munis, smas = _areas()
    prov = providers_frame([_zaishi(1500, "clinic", "conventional", "B従来")])
    result = _by_code(find_candidates(prov, munis, smas, TAX))
    assert result["372021"]["branch"] == "clinic"
    assert (
        result["372048"]["branch"] == "none"
    )  # D's neighbour C is in another 二次医療圏 and has none
    assert result["372048"]["candidates"] == []
    assert "二次医療圏" in result["372048"]["reason_ja"]
    # A and C border B in the same 二次医療圏
    assert result["372013"]["branch"] == result["372030"]["branch"] == "neighbour"


def test_medical_area_from_polygons_and_missing_medical_areas_said_plainly() -> None:
    munis, smas = _areas()
    munis["parent_code"] = None  # membership now comes from the 二次医療圏 polygons
    prov = providers_frame([_zaishi(1500, "clinic", "conventional", "B従来")])
    assert _by_code(find_candidates(prov, munis, smas, TAX))["372030"]["branch"] == "neighbour"
    no_sma = _by_code(find_candidates(prov, munis, None, TAX))["372030"]
    assert no_sma["branch"] == "none" and "読み込まれていない" in no_sma["reason_ja"]

"""Issue 11 item 2 (rest): missing data is not zero — indicators, the choropleth and the
積極的役割 candidates rule say データなし where nobody has answered, instead of 0 or "none".

高松市's open data carries no capabilities: the page used to colour every area as 0 and the
candidates rule said "在宅療養支援病院・診療所がなく…", which a planner reads as a real gap.
"""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import shapely
from conftest import login_as, make_app
from planner_support import build_planner_store, lonlat, population_frame, providers_frame

from mapsvc.core.taxonomy import load_taxonomy
from mapsvc.planner.candidates import find_candidates
from mapsvc.planner.choropleth import MISSING_COLOUR
from mapsvc.planner.indicators import compute_indicators

TAX = load_taxonomy("layers")
MISSING = "データなし（この項目の回答がありません）"


def _square(x0: float, x1: float) -> shapely.Polygon:
    return shapely.Polygon([lonlat(x0, 0), lonlat(x1, 0), lonlat(x1, 1000), lonlat(x0, 1000)])


def _munis() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "kind": "municipality",
            "code": ["372013", "372021"],
            "name": ["高松市", "丸亀市"],
            "parent_code": ["S1", "S1"],
            "properties": [{}, {}],
        },
        geometry=[_square(0, 1000), _square(1000, 2000)],
        crs="EPSG:4326",
    )


def _provider(x: float, ptype: str, caps: dict | None = None, name: str = "") -> dict:
    return {
        "dx": x,
        "dy": 500,
        "type": ptype,
        "name": name or f"{ptype}{x}",
        "capabilities": caps or {},
    }


def test_candidates_say_registrations_are_unknown_when_nobody_answered() -> None:
    prov = providers_frame(
        [_provider(100, "hospital"), _provider(300, "clinic"), _provider(1500, "clinic")]
    )
    result = find_candidates(prov, _munis(), None, TAX)
    for muni in result:
        assert muni["branch"] == "unknown" and muni["candidates"] == []
        assert MISSING in muni["reason_ja"] and "候補を判断できません" in muni["reason_ja"]
        assert "がなく" not in muni["reason_ja"] and "ありません" not in muni["reason_ja"].replace(
            MISSING, ""
        )
        assert [u["capability"] for u in muni["unknown"]] == [
            "home_care_support_hospital",
            "home_care_support_clinic",
        ]


def test_candidates_unknown_hospital_registration_is_not_called_absent() -> None:
    clinic = {"home_care_support_clinic": {"value": "enhanced_single"}}
    prov = providers_frame(
        [
            _provider(100, "hospital"),
            _provider(300, "clinic", clinic, "支援診"),
            _provider(1500, "clinic"),
        ]
    )
    by_code = {r["code"]: r for r in find_candidates(prov, _munis(), None, TAX)}
    city = by_code["372013"]
    assert city["branch"] == "enhanced_clinic" and city["candidates"][0]["name"] == "支援診"
    assert city["reason_ja"].startswith(f"在宅療養支援病院の届出は{MISSING}")
    assert "病院がないため" not in city["reason_ja"]
    assert [u["capability"] for u in city["unknown"]] == ["home_care_support_hospital"]
    other = by_code["372021"]  # no registered clinic there (known); hospitals unknown
    assert other["branch"] == "neighbour" and other["candidates"][0]["name"] == "支援診"
    assert other["reason_ja"].startswith(f"在宅療養支援病院の届出は{MISSING}")
    assert "市町村内に在宅療養支援診療所がないため" in other["reason_ja"]
    assert "在宅療養支援病院・診療所" not in other["reason_ja"]
    # with the hospital list loaded, absence is a fact again and said plainly
    hosp = {"home_care_support_hospital": {"value": "conventional"}}
    known = providers_frame([_provider(1200, "hospital", hosp), *(
        _provider(x, t, c) for x, t, c in ((100, "hospital", None), (300, "clinic", clinic))
    )])  # fmt: skip
    city = {r["code"]: r for r in find_candidates(known, _munis(), None, TAX)}["372013"]
    assert city["unknown"] == [] and city["reason_ja"].startswith("在宅療養支援病院がないため")


def test_indicators_of_an_unanswered_capability_are_missing_not_zero() -> None:
    prov = providers_frame([_provider(100, "clinic", {"home_visit_medical": {"level": "accept"}})])
    pop = population_frame([{"dx": 500, "dy": 500, "bands": {"80-84": 10, "40-44": 90}}])
    frame = compute_indicators(prov, pop, {"municipality": _munis()}, TAX)
    rows = frame[frame["area_code"] == "372013"].set_index("indicator")
    assert rows.loc["count:cap:home_visit_medical", "value"] == 1
    assert not rows.loc["count:cap:home_visit_medical", "missing"]
    for ind in ("count:cap:ventilator", "per100k:cap:ventilator", "per1000_75:cap:ventilator"):
        assert math.isnan(rows.loc[ind, "value"]) and rows.loc[ind, "missing"], ind
        assert pd.isna(rows.loc[ind, "numerator"])  # no count to re-read
    # no hospital at all: 0 hospitals offering a hospital-only registration is a fact
    assert rows.loc["count:cap:home_care_support_hospital", "value"] == 0
    assert not rows.loc["count:cap:home_care_support_hospital", "missing"]


def test_choropleth_greys_missing_areas_with_a_legend_entry(sqlite_services, tmp_path) -> None:
    build_planner_store(sqlite_services, tmp_path)
    client = make_app(sqlite_services).test_client()
    login_as(client, sqlite_services, "planner")
    base = "/planner/api/indicators?kind=daily_life_area&indicator="
    data = client.get(base + "per100k:cap:ventilator").get_json()
    assert data["features"]
    for f in data["features"]:
        p = f["properties"]
        assert p["missing"] is True and p["value"] is None and p["colour"] == MISSING_COLOUR
    assert data["legend"] == [
        {"from": None, "to": None, "colour": MISSING_COLOUR, "missing": True, "label": MISSING}
    ]
    answered = client.get(base + "count:cap:home_visit_medical").get_json()
    assert not any(f["properties"]["missing"] for f in answered["features"])
    assert not any(c.get("missing") for c in answered["legend"])
    assert {f["properties"]["value"] for f in answered["features"]} == {2, 0}

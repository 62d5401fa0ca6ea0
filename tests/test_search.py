"""The finder's domain: filter grammar, the index, coverage by each service-area rule,
ordering and tie fairness — on tiny hand-made frames and a hand-made road network."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from search_support import (
    BASE_LAT,
    BASE_LON,
    add_providers,
    east,
    frame,
    line_network,
    provider_row,
)

from mapsvc.core.errors import InvalidFilter
from mapsvc.core.filters import FilterSet, parse_filters
from mapsvc.core.taxonomy import load_taxonomy
from mapsvc.finder.index import IndexHolder, build_index, load_index
from mapsvc.finder.search import find_providers, nearby_providers
from mapsvc.geo._road_index import build_road_index

TAX = load_taxonomy("layers")


def caps(**levels: str) -> dict[str, dict[str, str]]:
    return {k: {"level": v} for k, v in levels.items()}


def uids(result) -> list[str]:
    return [m.uid for m in result.matches]


# ---- grammar --------------------------------------------------------------------------


def test_grammar_parses_levels_flags_options_and_types():
    f = parse_filters(
        ["ventilator:accept,night_response", "home_care_support_clinic:enhanced_single"],
        "clinic,hospital",
        TAX,
    )
    assert f.specs() == [
        "ventilator:accept",
        "night_response",
        "home_care_support_clinic:enhanced_single",
    ]
    assert f.types == ("clinic", "hospital")
    assert f.describe(TAX, "ja") == (
        "診療所・病院（人工呼吸器（受入以上）、夜間対応（要相談以上）、在宅療養支援診療所：機能強化型（単独型））"
    )
    assert f.describe(TAX, "en") == (
        "Clinic or Hospital with Ventilator (Accepting or better) and Night response "
        "(By consultation or better) and Home care support clinic: Enhanced (single)"
    )


@pytest.mark.parametrize(
    ("cap", "words"),
    [
        ("nonsense", "unknown capability 'nonsense'"),
        ("ventilator:maybe", "must be one of active, accept, consult"),
        ("ventilator:no", "must be one of active, accept, consult"),
        ("narcotics_licence:no", "is yes/no"),
        ("home_care_support_clinic:gold", "must be one of enhanced_single"),
        ("doctor_meeting_times", "free text"),
    ],
)
def test_grammar_errors_name_the_parameter(cap, words):
    with pytest.raises(InvalidFilter) as err:
        parse_filters(cap, None, TAX)
    assert err.value.field == "cap"
    assert words in err.value.message


def test_public_cannot_filter_on_professional_capabilities_and_is_not_told_the_name():
    assert parse_filters("home_visit_medical", None, TAX, "public").specs() == [
        "home_visit_medical"
    ]
    with pytest.raises(InvalidFilter) as err:
        parse_filters("ventilator:accept", None, TAX, "public")
    assert err.value.field == "cap" and "ventilator" not in err.value.message
    with pytest.raises(InvalidFilter) as err:
        parse_filters(None, "castle", TAX)
    assert err.value.field == "type"


# ---- capability filtering --------------------------------------------------------------


def test_levels_filter_at_least_and_unknown_never_matches():
    idx = build_index(
        frame(
            provider_row("active", capabilities=caps(ventilator="active")),
            provider_row("accept", capabilities=caps(ventilator="accept")),
            provider_row("consult", capabilities=caps(ventilator="consult")),
            provider_row("no", capabilities=caps(ventilator="no")),
            provider_row("unknown", capabilities=caps(ventilator="unknown")),
            provider_row("absent"),
            provider_row("closed", capabilities=caps(ventilator="active"), status="closed"),
        ),
        TAX,
    )

    def found(spec: str) -> set[str]:
        return set(uids(find_providers(idx, BASE_LON, BASE_LAT, parse_filters(spec, None, TAX))))

    assert found("ventilator:active") == {"active"}
    assert found("ventilator:accept") == {"active", "accept"}
    assert found("ventilator") == {"active", "accept", "consult"}
    assert found("ventilator:consult") == {"active", "accept", "consult"}
    assert "unknown" not in found("ventilator:consult") and "no" not in found("ventilator")


def test_flags_choices_and_types():
    idx = build_index(
        frame(
            provider_row("lic", type="pharmacy", capabilities=caps(narcotics_licence="yes")),
            provider_row("nolic", type="pharmacy", capabilities=caps(narcotics_licence="no")),
            provider_row(
                "single",
                capabilities={"home_care_support_clinic": {"value": "enhanced_single"}},
            ),
            provider_row(
                "linked",
                capabilities={"home_care_support_clinic": {"value": "enhanced_linked"}},
            ),
        ),
        TAX,
    )

    def found(cap: str | None, types: str | None = None) -> set[str]:
        f = parse_filters(cap, types, TAX)
        return set(uids(find_providers(idx, BASE_LON, BASE_LAT, f)))

    assert found("narcotics_licence") == {"lic"}
    assert found("home_care_support_clinic:enhanced_single") == {"single"}
    assert found("home_care_support_clinic") == {"single", "linked"}
    assert found(None, "pharmacy") == {"lic", "nolic"}


def test_extent_covers_the_active_providers_passing_the_filter():
    idx = build_index(
        frame(
            provider_row("west"),
            provider_row("east", lon=east(3000), lat=BASE_LAT + 0.01),
            provider_row("closed", lon=east(9000), status="closed"),
            provider_row("chemist", type="pharmacy", lon=east(-2000)),
        ),
        TAX,
    )
    north = round(BASE_LAT + 0.01, 6)
    assert idx.extent() == [round(east(-2000), 6), BASE_LAT, round(east(3000), 6), north]
    clinics = FilterSet(types=("clinic",))
    assert idx.extent(clinics) == [BASE_LON, BASE_LAT, round(east(3000), 6), north]
    idx.extent(clinics).append(0.0)  # callers get their own list
    assert len(idx.extent(clinics)) == 4
    assert idx.extent(FilterSet(types=("hospital",))) is None


# ---- coverage: radius, polygon, codes, travel time ----------------------------------


def test_radius_type_default_and_providers_own():
    idx = build_index(
        frame(
            provider_row("default16", lon=east(15_000)),  # clinic: 16 km by default
            provider_row("far", lon=east(17_000)),
            provider_row("own2km", lon=east(1_500), service_area={"kind": "radius", "km": 2}),
            provider_row("own1km", lon=east(1_500), service_area={"kind": "radius", "km": 1}),
        ),
        TAX,
    )
    result = find_providers(idx, BASE_LON, BASE_LAT, FilterSet())
    assert set(uids(result)) == {"default16", "own2km"}
    assert result.order == "distance"
    reason = result.matches[-1].reasons[-1]
    assert "半径 16 km" in reason.ja and "道路網が未読込" in reason.ja
    assert "within 16 km" in reason.en


def test_type_default_radius_follows_configuration_overrides():
    rows = frame(provider_row("p", lon=east(12_000)))
    assert uids(find_providers(build_index(rows, TAX), BASE_LON, BASE_LAT, FilterSet())) == ["p"]
    defaults = TAX.service_area_defaults({"clinic": {"radius_km": 10}})
    idx = build_index(rows, TAX, defaults=defaults)
    assert uids(find_providers(idx, BASE_LON, BASE_LAT, FilterSet())) == []


def _square(cx: float, cy: float, half_deg: float) -> dict:
    return shapely.geometry.mapping(
        shapely.box(cx - half_deg, cy - half_deg, cx + half_deg, cy + half_deg)
    )


def test_explicit_polygon_wins_over_distance():
    far_square = _square(east(30_000), BASE_LAT, 0.01)  # a town 30 km away
    idx = build_index(
        frame(
            # next door, but declares it only serves the far town
            provider_row("poly", service_area={"kind": "polygon", "geometry": far_square}),
            provider_row("plain", lon=east(500)),
        ),
        TAX,
    )
    assert uids(find_providers(idx, BASE_LON, BASE_LAT, FilterSet())) == ["plain"]
    far = find_providers(idx, east(30_000), BASE_LAT, FilterSet())
    assert uids(far) == ["poly"]
    assert "届け出た対応地域" in far.matches[0].reasons[-1].ja


def test_area_codes_resolve_to_area_polygons_and_name_them():
    areas = gpd.GeoDataFrame(
        {
            "kind": ["daily_life_area", "daily_life_area"],
            "code": ["A1", "A2"],
            "name": ["中央圏域", "東部圏域"],
        },
        geometry=[
            shapely.box(BASE_LON - 0.05, BASE_LAT - 0.05, BASE_LON + 0.05, BASE_LAT + 0.05),
            shapely.box(east(20_000) - 0.05, BASE_LAT - 0.05, east(20_000) + 0.05, BASE_LAT + 0.05),
        ],
        crs="EPSG:4326",
    )
    idx = build_index(
        frame(
            provider_row("east_only", service_area={"kind": "codes", "codes": ["A2"]}),
            provider_row(
                "both", service_area={"kind": "codes", "codes": ["daily_life_area:A1", "A2"]}
            ),
            provider_row("missing", service_area={"kind": "codes", "codes": ["ZZ"]}),
        ),
        TAX,
        areas=areas,
    )
    here = find_providers(idx, BASE_LON, BASE_LAT, FilterSet())
    # "missing" names no loaded area: it falls back to its type's default (16 km radius)
    assert set(uids(here)) == {"both", "missing"}
    assert [p["provider"] for p in idx.problems] == ["missing"]
    east_side = find_providers(idx, east(20_000), BASE_LAT, FilterSet())
    assert set(uids(east_side)) == {"east_only", "both"}
    both = next(m for m in east_side.matches if m.uid == "both")
    assert "中央圏域・東部圏域" in both.reasons[-1].ja


def test_travel_time_on_a_hand_made_network_honours_one_way_streets():
    # nodes every 1 km, 2 minutes per edge; one-way eastbound from node 3 on
    road = build_road_index(line_network(6, one_way_from=3), "line")
    rows = frame(
        provider_row("west", lon=east(0), service_area={"kind": "travel_time", "minutes": 5}),
        provider_row("east", lon=east(5_000), service_area={"kind": "travel_time", "minutes": 30}),
        provider_row("mid", lon=east(3_000), service_area={"kind": "travel_time", "minutes": 5}),
    )
    idx = build_index(rows, TAX)
    at_node2 = find_providers(idx, east(2_000), BASE_LAT, FilterSet(), road=road)
    # reached = within 300 m of the point (the planner's rule): west drives one edge and
    # 700 m of the next (3.4 min <= 5); mid 700 m (1.4 min); east cannot drive west on
    # the one-way road
    assert set(uids(at_node2)) == {"west", "mid"}
    assert {m.uid: m.travel_min for m in at_node2.matches} == {"west": 3, "mid": 1}
    assert [m.uid for m in at_node2.matches] == ["mid", "west"]
    assert at_node2.order == "travel_time"
    at_node3 = find_providers(idx, east(3_000), BASE_LAT, FilterSet(), road=road)
    assert "west" not in uids(at_node3)  # 5.4 min > 5
    at_node5 = find_providers(idx, east(5_000), BASE_LAT, FilterSet(), road=road)
    assert {m.uid: m.travel_min for m in at_node5.matches}["mid"] == 3  # eastbound works
    reason = at_node5.matches[-1].reasons[-1]
    assert "車で約" in reason.ja and "分以内" in reason.ja


def test_type_default_minutes_apply_only_with_a_network_and_off_network_falls_back():
    road = build_road_index(line_network(4, seconds=600), "slow")  # 10 min per km
    rows = frame(provider_row("clinic", lon=east(3_000)))  # clinic default: 30 min / 16 km
    idx = build_index(rows, TAX)
    assert uids(find_providers(idx, BASE_LON, BASE_LAT, FilterSet(), road=road)) == ["clinic"]
    idx_short = build_index(
        rows, TAX, defaults=TAX.service_area_defaults({"clinic": {"travel_minutes": 20}})
    )
    assert uids(find_providers(idx_short, BASE_LON, BASE_LAT, FilterSet(), road=road)) == []
    # without a network the same provider is within its 16 km radius
    assert uids(find_providers(idx_short, BASE_LON, BASE_LAT, FilterSet())) == ["clinic"]
    # a patient 5 km north of every road: straight-line rule, and the note says so
    north = BASE_LAT + 5_000 / 111_000
    off = find_providers(idx_short, BASE_LON, north, FilterSet(), road=road, snap_m=1000)
    assert uids(off) == ["clinic"] and off.order == "distance"
    assert "道路網がない" in off.notes[0].ja
    assert "地点が道路網から離れているため" in off.matches[0].reasons[-1].ja


# ---- ordering and fairness ---------------------------------------------------------


def test_order_by_distance_and_ties_are_not_always_won_by_the_same_provider():
    rows = frame(
        provider_row("far", lon=east(3_000)),
        *[provider_row(f"same{i}", lon=east(1_000)) for i in range(3)],
        provider_row("near", lon=east(200)),
    )
    idx = build_index(rows, TAX)
    firsts = set()
    for seed in range(60):
        order = uids(find_providers(idx, BASE_LON, BASE_LAT, FilterSet(), seed=seed))
        assert order[0] == "near" and order[-1] == "far"
        assert sorted(order[1:4]) == ["same0", "same1", "same2"]
        firsts.add(order[1])
    assert firsts == {"same0", "same1", "same2"}
    # the seed repeats an order (exports show what the user saw)
    a = find_providers(idx, BASE_LON, BASE_LAT, FilterSet(), seed=7)
    b = find_providers(idx, BASE_LON, BASE_LAT, FilterSet(), seed=7)
    assert uids(a) == uids(b) and a.seed == 7
    assert "無作為" in a.order_note().ja


def test_nearby_orders_by_distance_with_a_limit():
    rows = frame(*[provider_row(f"p{i}", lon=east(i * 1000)) for i in range(5)])
    idx = build_index(rows, TAX)
    near = nearby_providers(idx, east(4_100), BASE_LAT, FilterSet(), limit=3)
    assert [n.uid for n in near] == ["p4", "p3", "p2"]
    assert near[0].distance_km == 0.1


# ---- the index follows the store ----------------------------------------------------


def test_index_refreshes_when_the_store_changes(services):
    holder = IndexHolder()
    add_providers(services, {"source_id": "a"})
    first = holder.get(services, refresh_s=0)
    assert len(first) == 1
    assert holder.get(services, refresh_s=0) is first  # unchanged store: same index
    add_providers(services, {"source_id": "b", "lon": east(500)})
    second = holder.get(services, refresh_s=0)
    assert len(second) == 2 and second.generation > first.generation
    # with a refresh interval the generation is not even read again within it
    add_providers(services, {"source_id": "c"})
    assert holder.get(services, refresh_s=3600) is second
    assert len(load_index(services)) == 3

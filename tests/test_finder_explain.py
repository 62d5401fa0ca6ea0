"""Why nothing matched, "1分未満" and the order note: the finder's domain on hand-made frames."""

from __future__ import annotations

from search_support import BASE_LAT, BASE_LON, east, frame, line_network, provider_row

from mapsvc.core.filters import parse_filters
from mapsvc.core.taxonomy import load_taxonomy
from mapsvc.finder.explain import explain_few
from mapsvc.finder.index import build_index
from mapsvc.finder.search import FilterSet, find_providers
from mapsvc.geo._road_index import build_road_index

TAX = load_taxonomy("layers")


def _caps(**levels: str) -> dict[str, dict[str, str]]:
    return {k: {"level": v} for k, v in levels.items()}


def _index():
    rows = [
        # four that consult on a ventilator and do night visits: widening finds them
        *[
            provider_row(
                f"c{i}",
                lon=east(500 * i),
                capabilities=_caps(ventilator="consult", night_response="accept"),
            )
            for i in range(4)
        ],
        # one that accepts a ventilator but has no night response
        provider_row("v", lon=east(800), capabilities=_caps(ventilator="accept")),
        # one that would match everything, but is 40 km away (outside 16 km)
        provider_row(
            "far",
            lon=east(40_000),
            capabilities=_caps(ventilator="active", night_response="active"),
        ),
        # a home-nursing station that accepts both
        provider_row(
            "n",
            type="home_nursing",
            lon=east(300),
            capabilities=_caps(ventilator="accept", night_response="accept"),
        ),
    ]
    return build_index(frame(*rows), TAX)


def test_each_condition_says_what_it_alone_removes_and_what_widening_gives():
    idx = _index()
    filters = parse_filters(["ventilator:accept", "night_response"], "clinic", TAX, "professional")
    result = find_providers(idx, BASE_LON, BASE_LAT, filters)
    assert [m.uid for m in result.matches] == []  # "n" is not a clinic, "far" is too far
    why = explain_few(idx, result)
    assert why.covering == 6 and why.matched == 0
    by = {c.spec: c for c in why.conditions}
    vent = by["ventilator:accept"]
    # clinics with night response near the point: c0..c3, all only 「要相談」 for a ventilator
    assert (vent.removes, vent.dropped, vent.relaxed_to, vent.relaxed) == (4, 4, "consult", 4)
    assert "人工呼吸器を「要相談」まで広げると 4 件" in vent.sentence.ja
    assert "Widening Ventilator to" in vent.sentence.en
    night = by["night_response"]
    assert (night.removes, night.dropped, night.relaxed) == (1, 1, None)  # "v"
    kinds = by["type"]
    assert (kinds.removes, kinds.dropped) == (1, 1)  # "n", a home-nursing station
    assert why.conditions[0].spec == "ventilator:accept"  # the costliest first
    # widening as suggested gives exactly the promised count
    wider = parse_filters(["ventilator:consult", "night_response"], "clinic", TAX, "professional")
    assert len(find_providers(idx, BASE_LON, BASE_LAT, wider).matches) == 4


def test_a_point_no_one_covers_says_so_whatever_the_conditions():
    idx = _index()
    result = find_providers(idx, east(200_000), BASE_LAT, FilterSet())
    why = explain_few(idx, result)
    assert why.covering == 0 and why.conditions == ()
    assert "条件に関係なく" in why.summary.ja


def test_a_drive_under_half_a_minute_reads_under_one_minute():
    road = build_road_index(line_network(3, spacing_m=400, seconds=20), "short")
    idx = build_index(
        frame(
            provider_row("near", lon=east(400), service_area={"kind": "travel_time", "minutes": 10})
        ),
        TAX,
    )
    result = find_providers(idx, BASE_LON, BASE_LAT, FilterSet(), road=road)
    match = result.matches[0]
    assert (
        match.travel_text().ja == "車で1分未満" and match.travel_text().en == "under 1 min by car"
    )
    assert (
        match.reasons[-1].ja.startswith("車で1分未満（") and "約 0 分" not in match.reasons[-1].ja
    )


def test_order_note_keys_on_the_network_not_on_an_empty_result():
    road = build_road_index(line_network(4), "line")
    idx = _index()
    nothing = parse_filters(["ventilator:active"], "hospital", TAX, "professional")
    empty = find_providers(idx, BASE_LON, BASE_LAT, nothing, road=road)
    assert empty.matches == [] and empty.network
    assert "道路網が読み込まれていない" not in empty.order_note().ja
    assert "所要時間" in empty.order_note().ja
    no_road = find_providers(idx, BASE_LON, BASE_LAT, nothing)
    assert "道路網が読み込まれていない" in no_road.order_note().ja
    off = find_providers(idx, BASE_LON, BASE_LAT + 0.05, FilterSet(), road=road, snap_m=1000)
    assert off.order == "distance" and "道路網が読み込まれていない" not in off.order_note().ja
    assert "道路網がない" in off.order_note().ja

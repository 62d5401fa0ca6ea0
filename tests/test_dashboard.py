"""The editor's data-quality dashboard."""

from __future__ import annotations

from survey_support import add_provider, at, set_columns

from mapsvc.core.models import Area, ImportRun, RejectedRow
from mapsvc.core.registry import insert_records, provider_uid
from mapsvc.upkeep.dashboard import address_key, build_dashboard, find_conflicts, normalise_name

NOW = at("2026-06-15T00:00:00")
CONFIG = {"STALE_MONTHS": 12, "RECONFIRM_MONTHS": 12, "UNCONFIRMED_MONTHS": 24}


def test_name_and_address_normalisation():
    assert normalise_name("医療法人社団　たかまつ内科・クリニック") == normalise_name(
        "たかまつ内科クリニック"
    )
    assert address_key("香川県高松市番町一丁目８番１５号") == address_key("高松市番町1丁目8番15号")


def _other_source(services, source, source_id, **fields):
    rec = {"source_id": source_id, "type": "clinic", "geocode_status": "source", **fields}
    with services.store.session() as session:
        insert_records(session, source, [rec], actor="test")
    return provider_uid(source, source_id)


def test_conflicting_sources_are_listed_with_the_differing_fields(services):
    a = add_provider(
        services, "A", name="たかまつ内科", phone="087-111-1111", lon=134.0466, lat=34.3401
    )
    # same clinic in the 厚生局 list: another phone, ~50 m away
    b = _other_source(
        services,
        "kouseikyoku",
        "K1",
        name="医療法人 たかまつ内科",
        phone="087-222-2222",
        address="香川県高松市番町一丁目8番15号",
        lon=134.0471,
        lat=34.3402,
    )
    # same name 3 km away: a different clinic
    _other_source(services, "kouseikyoku", "K2", name="たかまつ内科", lon=134.08, lat=34.34)
    # same address and type from another source, different name
    c = _other_source(
        services,
        "navii",
        "N1",
        name="高松内科医院",
        address="高松市番町1丁目8番15号",
        lon=None,
        lat=None,
        geocode_status="pending",
    )
    # same name, same source: not a conflict between sources
    add_provider(services, "A2", name="たかまつ内科", lon=134.0467, lat=34.3401)
    with services.store.session() as session:
        dash = build_dashboard(session, services.taxonomy, now=NOW, config=CONFIG)
    pairs = {frozenset((p.a["uid"], p.b["uid"])): p for p in dash.conflicts}
    ab = pairs[frozenset((a, b))]
    assert ab.reason.startswith("same name") and 30 < ab.distance_m < 80
    assert ("phone", "087-111-1111", "087-222-2222") in [
        d if d[1] == "087-111-1111" else (d[0], d[2], d[1]) for d in ab.differences
    ]
    assert [d[0] for d in ab.differences] == ["name", "phone"]
    assert pairs[frozenset((a, c))].reason == "same address and type"
    assert all(len({p.a["source"], p.b["source"]}) == 2 for p in dash.conflicts)
    assert not any("K2" in (p.a["source_id"], p.b["source_id"]) for p in dash.conflicts)


def test_find_conflicts_without_locations():
    records = [
        {
            "uid": "1",
            "source": "s1",
            "type": "pharmacy",
            "name": "A薬局",
            "address": "高松市朝日町1-2",
        },
        {
            "uid": "2",
            "source": "s2",
            "type": "pharmacy",
            "name": "A薬局",
            "address": "高松市朝日町1-2",
        },
    ]
    [pair] = find_conflicts(records)
    assert pair.reason == "same name and address" and pair.distance_m is None


def test_stale_ungeocoded_rejected_rows_and_counts(services):
    fresh = add_provider(services, "F")
    stale = add_provider(services, "S", type="pharmacy", name="古い薬局")
    never = add_provider(services, "N", lon=None, lat=None, geocode_status="pending")
    set_columns(services, fresh, confirmed_at=at("2026-03-01T00:00:00"))
    set_columns(services, stale, confirmed_at=at("2023-01-01T00:00:00"))
    with services.store.session() as session:
        run = ImportRun(actor="t", filename="list.csv", format="generic", status="ok", counts={})
        session.add(run)
        session.flush()
        session.add(
            RejectedRow(import_run_id=run.id, line=7, reason="name is empty", row={"name": ""})
        )
        session.add(
            Area(
                kind="daily_life_area",
                code="A1",
                name="中央",
                geometry={
                    "type": "Polygon",
                    "coordinates": [
                        [[134.0, 34.3], [134.1, 34.3], [134.1, 34.4], [134.0, 34.4], [134.0, 34.3]]
                    ],
                },
            )
        )
        session.add(Area(kind="municipality", code="372013", name="高松市"))
    with services.store.session() as session:
        dash = build_dashboard(session, services.taxonomy, now=NOW, config=CONFIG)
    assert dash.total == 3
    assert {r["uid"] for r in dash.stale} == {stale, never}
    assert dash.stale[0]["uid"] == never  # never confirmed first
    assert dash.stale_count == 2
    assert [r["uid"] for r in dash.ungeocoded] == [never]
    assert dash.rejected_count == 1
    assert dash.rejected_rows[0]["reason"] == "name is empty"
    assert dash.rejected_rows[0]["filename"] == "list.csv"
    assert dash.states == {"confirmed": 1, "due": 1, "unconfirmed": 1}
    by_type = {r["code"]: r for r in dash.by_type}
    assert by_type["clinic"]["total"] == 2 and by_type["clinic"]["name"] == "診療所"
    assert by_type["clinic"]["ungeocoded"] == 1 and by_type["pharmacy"]["stale"] == 1
    [municipality] = dash.by_area["municipality"]
    assert (municipality["code"], municipality["name"], municipality["total"]) == (
        "372013",
        "高松市",
        3,
    )
    area = {r["code"]: r for r in dash.by_area["daily_life_area"]}
    assert area["A1"]["total"] == 2 and area["A1"]["name"] == "中央"
    assert area[""]["total"] == 1  # the provider without a location

"""Every provider file under ../shared/data/real imports as published (issue 14 item 11).

One test per file: the counts add up, every rejected row carries a line and a reason, no
mass rejection, a second import changes nothing (and does not pile up rejected rows), and a
few values read back as the file states them. Files are read in place; without the folder
the tests skip, saying so. A provider file added to the folder without an entry here fails
``test_every_real_provider_file_is_listed``, so none is silently left out.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import REAL, login_as, make_app, run_cli
from import_support import read_rejects, records
from sqlalchemy import func, select

from mapsvc.core.models import ImportRun, RejectedRow

# Not provider lists: population tables, boundaries, address gazetteers, road networks.
NOT_PROVIDERS = {
    "takamatsu/population",
    "takamatsu/boundary",
    "takamatsu/address",
    "osm",
    "municipal/echizen/0214machibetsujumin.csv",
    "municipal/yamaguchi/04_352063_population.csv",
}
# Companion files, imported through the main file they are joined to.
COMPANIONS = {"national/hospital_hours.zip": "national/01-1_hospital_facility_info_20251201.csv"}
# City-own schemas without a shipped format: imported with `mapsvc mapping suggest`'s
# mapping (tests/test_mapping_suggest.py).
CITY_OWN = {
    "municipal/kumamoto/byouin_list.csv",
    "municipal/kumamoto/byouin_list.xlsx",
    "municipal/kumamoto/yakkyoku_list.csv",
    "municipal/hokkaido/hospital_list.csv",
    "municipal/kyoto/kaigo-all-20240901.csv",
    "municipal/yaizu/yohairyosya.csv",
    "municipal/yaizu/222127_kyuugobyouinn.csv",
    "municipal/echizen/iryoukikan.csv",
}

# file -> (format, {source_id: {field: value}}); values as the file states them
SPOTS: dict[str, tuple[str, dict[str, dict[str, Any]]]] = {
    "national/01-1_hospital_facility_info_20251201.csv": (
        "navii_facility",
        {
            "0111010000010": {
                "name": "札幌医科大学附属病院",
                "type": "hospital",
                "lon": 141.333497,
                "municipality_code": "011011",
                # from the joined 01-2 診療科・診療時間票 (hospital_hours.zip)
                "hours": "月 09:00-17:30; 火 09:00-17:30; 水 09:00-17:30; 木 09:00-17:30; "
                "金 09:00-17:30",
            }
        },
    ),
    "national/jigyosho_120.csv": (
        "kaigo_kohyo",
        {"0170201115": {"name": "アースサポート札幌", "type": "home_help", "lat": 43.0921057}},
    ),
    "national/jigyosho_155.csv": (
        "kaigo_kohyo",
        {"1070600927": {"name": "療養通所介護ハッピーデイナーシング", "type": "day_care"}},
    ),
    "national/jigyosho_331.csv": (
        "kaigo_kohyo",
        {"0170101307": {"name": "アイムス旭山公園", "type": "residential", "lon": 141.3133285}},
    ),
    "municipal/yamaguchi/kudamatsu_352071_医療機関一覧.csv": (
        "jp_standard_medical",
        {
            "3510711140": {
                "name": "医療法人社団 あいクリニック",  # ideographic space folded
                "type": "clinic",
                "address": "山口県下松市西柳3丁目2-34",
                "lat": 34.0146665,
            },
            "3530730369": {"type": "dental_clinic"},
        },
    ),
    "municipal/yamaguchi/yamaguchi_352039_医療機関一覧_R060401.csv": (
        "jp_standard_medical",
        {
            "3510311271": {
                "name": "相川医院",
                "type": "clinic",
                "address": "山口市鋳銭司5964-1",  # `5964ｰ1` in the file
                "municipality_code": "352039",
                "lon": 131.443716,
            }
        },
    ),
    "municipal/yamaguchi/yanai_352128_医療機関一覧_R050401.csv": (
        "jp_standard_medical",
        {
            # no code, no NO: a derived id (name|normalised address|type)
            "~優クリニック|柳井市中央1丁目8番8号|clinic": {
                "name": "優クリニック",
                "phone": "0820-22-0317",
            }
        },
    ),
    "takamatsu/facilities/hospital.csv": ("takamatsu_hospital", {}),
    "takamatsu/facilities/hospital_original_2025-07.csv": ("takamatsu_hospital", {}),
    "takamatsu/facilities/hospital_gh-pages_2024-09.geojson": ("takamatsu_hospital", {}),
    "takamatsu/facilities/regional_comprehensive_support_center.csv": ("takamatsu_facility", {}),
    "takamatsu/facilities/regional_comprehensive_support_center_gh-pages_2024-09.geojson": (
        "takamatsu_facility",
        {},
    ),
    "takamatsu/facilities/elderly_welfare_facility.csv": ("takamatsu_facility", {}),
    "takamatsu/facilities/elderly_welfare_facility_gh-pages_2024-09.geojson": (
        "takamatsu_facility",
        {},
    ),
    "takamatsu/facilities/group_home.csv": ("takamatsu_facility", {}),
    "takamatsu/facilities/nursing_home.csv": ("takamatsu_facility", {}),
    "takamatsu/facilities/health_center.csv": ("takamatsu_facility", {}),
    "takamatsu/facilities/welfare_hall.csv": ("takamatsu_facility", {}),
    "takamatsu/facilities/elderly_welfare_center.csv": ("takamatsu_facility", {}),
}
# A file may lose at most this share of its rows to rejections (the national files carry
# a few coordinates in Ireland or at 0,0); more would be a mass rejection.
MAX_REJECTED_SHARE = 0.02


def _provider_files() -> list[str]:
    out = []
    for path in sorted(REAL.rglob("*")):
        rel = path.relative_to(REAL).as_posix()
        if not path.is_file() or path.suffix.lower() not in (
            ".csv",
            ".tsv",
            ".xlsx",
            ".xls",
            ".geojson",
            ".zip",
        ):
            continue
        if any(rel == n or rel.startswith(n + "/") for n in NOT_PROVIDERS):
            continue
        out.append(rel)
    return out


def _require_real() -> None:
    if not REAL.exists():
        pytest.skip(f"real data not available: {REAL} (../shared/data/real is absent)")


def test_every_real_provider_file_is_listed() -> None:
    _require_real()
    listed = set(SPOTS) | set(COMPANIONS) | CITY_OWN
    assert sorted(set(_provider_files()) - listed) == []


def _import(runner, services, path: Path, rejects: Path) -> dict[str, Any]:
    result = run_cli(runner, services, "import", str(path), "--json", "--rejects", str(rejects))
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.real
@pytest.mark.parametrize("name", sorted(SPOTS))
def test_real_provider_file(name: str, sqlite_services, runner, tmp_path: Path) -> None:
    _require_real()
    fmt, spots = SPOTS[name]
    path = REAL / name
    counts = _import(runner, sqlite_services, path, tmp_path / "r1.csv")
    assert (
        counts["inserted"] + counts["updated"] + counts["unchanged"] + counts["rejected"]
        == counts["rows"]
    )
    assert counts["rows"] > 0
    assert counts["rejected"] <= max(1, MAX_REJECTED_SHARE * counts["rows"]), counts
    # every row left without a location is counted under a reason, every warning has one
    assert sum(counts["pending_reasons"].values()) == counts["placed"]["pending"], counts
    assert all(reason.strip() for reason in [*counts["warnings"], *counts["pending_reasons"]])
    if counts["rejected"]:
        rows = read_rejects(tmp_path / "r1.csv")
        assert len(rows) == counts["rejected"]
        assert all(r["reason"].strip() and r["line"].isdigit() for r in rows)
    with sqlite_services.store.session() as session:
        kept = session.scalar(select(func.count()).select_from(RejectedRow))
    assert kept == counts["rejected"]

    again = _import(runner, sqlite_services, path, tmp_path / "r2.csv")
    assert again["inserted"] == 0 and again["updated"] == 0, again
    assert again["unchanged"] == counts["inserted"] + counts["updated"] + counts["unchanged"]
    with sqlite_services.store.session() as session:
        # the second run replaced the first run's rejected rows, it did not add to them
        assert session.scalar(select(func.count()).select_from(RejectedRow)) == kept

    with sqlite_services.store.session() as session:
        run = session.scalars(select(ImportRun).order_by(ImportRun.id.desc())).first()
        assert run is not None and run.format == fmt
    if spots:
        _check_spots_through_the_professional_api(sqlite_services, name, spots)


def _check_spots_through_the_professional_api(
    services: Any, name: str, spots: dict[str, dict[str, Any]]
) -> None:
    """The spot values as a care manager's software reads them: one item of the layer API,
    logged in as a professional (coordinates from the geometry, to its 6 decimals)."""
    recs = records(services)
    client = make_app(services).test_client()
    login_as(client, services, "professional")
    layers = [c["id"] for c in client.get("/api/collections?f=json").get_json()["collections"]]
    for source_id, expected in spots.items():
        assert source_id in recs, f"{source_id} not imported from {name}"
        rec = recs[source_id]
        feature = None
        for layer in layers:
            res = client.get(f"/api/collections/{layer}/items/{rec['id']}?f=json")
            if res.status_code == 200:
                feature = res.get_json()
                break
        if rec.get("lon") is None:
            # still pending (no gazetteer in the test): not on any map, so the record
            # itself is what a professional would get once it is placed
            assert feature is None, f"{source_id} has no location but is served"
            assert {k: rec.get(k) for k in expected} == expected
            continue
        assert feature is not None, f"{source_id} is in no layer the professional API serves"
        lon, lat = feature["geometry"]["coordinates"]
        got = {**feature["properties"], "lon": lon, "lat": lat}
        for key, value in expected.items():
            if key in ("lon", "lat"):
                assert got[key] == pytest.approx(value, abs=1e-6), (source_id, key)
            else:
                assert got.get(key) == value, (source_id, key)


@pytest.mark.real
def test_companion_file_is_named_as_such(sqlite_services, runner, tmp_path: Path) -> None:
    _require_real()
    for companion, main in COMPANIONS.items():
        result = run_cli(runner, sqlite_services, "import", str(REAL / companion))
        assert result.exit_code != 0
        assert "companion file of format" in result.output
        assert main in SPOTS  # and the main file's test reads the joined values back

"""Geocoding you can see (issue 14 item 10): per-provider reasons for "pending", the
japanese-addresses JSON of any prefecture, placement counts in the import report, and rows
with (0, 0), outside-Japan or swapped coordinates placed from their address."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import build_services, real_path, run_cli
from import_support import records, run_import

from mapsvc.geo.geocode import GazetteerGeocoder, import_geocoder

TAKAMATSU_JSON = ("takamatsu", "address", "japanese-addresses_kagawa_takamatsu.json")


def _kagawa_city_file(tmp_path: Path) -> Path:
    """The real Takamatsu town file where japanese-addresses publishes it (ja/県/市.json)."""
    folder = tmp_path / "ja" / "香川県"
    folder.mkdir(parents=True)
    path = folder / "高松市.json"
    path.write_bytes(real_path(*TAKAMATSU_JSON).read_bytes())
    return path


def test_japanese_addresses_json_of_any_prefecture(tmp_path: Path) -> None:
    city = _kagawa_city_file(tmp_path)
    towns = json.loads(city.read_text(encoding="utf-8"))
    # a prefecture-wide file {city: [towns]}, for another prefecture
    pref = tmp_path / "山口県.json"
    pref.write_text(
        json.dumps(
            {
                "防府市": [{"town": "牟礼", "koaza": "", "lat": 34.06, "lng": 131.59}],
                "下松市": [{"town": "末武上", "koaza": "", "lat": 34.03, "lng": 131.86}],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    # the v2 shape and items naming their own city
    v2 = tmp_path / "v2.json"
    v2.write_text(
        json.dumps(
            {
                "data": [
                    {
                        "oaza_cho": "番町",
                        "chome": "一丁目",
                        "koaza": "",
                        "point": [134.0466, 34.343],
                        "pref": "香川県",
                        "city": "高松市",
                    }
                ]
            },  # fmt: skip
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    gaz = GazetteerGeocoder.from_files([city, pref, v2])  # no GAZETTEER_PREFIX needed
    assert len(gaz.entries) == len(towns) + 3
    assert gaz.geocode("香川県高松市朝日町１丁目３番").raw["matched"].startswith("朝日町一丁目")
    assert gaz.geocode("山口県防府市牟礼1-2").longitude == 131.59
    assert gaz.geocode("下松市末武上100").latitude == 34.03
    # towns of different cities stay apart: 牟礼 is in 防府市 only
    assert gaz.geocode("山口県下松市牟礼1") is None
    assert gaz.geocode("高松市番町一丁目1-1") is not None


def test_bad_coordinates_are_dropped_and_placed_from_the_address(tmp_path: Path) -> None:
    city = _kagawa_city_file(tmp_path)
    svc = build_services(tmp_path, f"sqlite:///{tmp_path / 's.sqlite'}", GAZETTEER_FILES=str(city))
    try:
        path = tmp_path / "p.csv"
        path.write_text(
            "source_id,type,name,address,lat,lon\n"
            "zero,clinic,零診療所,香川県高松市朝日町一丁目1-1,0,0\n"
            "ireland,clinic,愛蘭診療所,香川県高松市朝日町一丁目1-2,53.3,-6.2\n"
            "swapped,clinic,逆診療所,香川県高松市朝日町一丁目1-3,134.06,34.35\n"
            "fine,clinic,良診療所,香川県高松市朝日町一丁目1-4,34.35,134.06\n"
            "nowhere,clinic,迷診療所,香川県高松市架空町1,,\n",
            encoding="utf-8",
        )
        report = run_import(svc, path, tmp_path, geocode=import_geocoder(svc))
        assert (report.inserted, report.rejected) == (5, 0)
        assert report.placed == {"file": 1, "gazetteer": 3, "pending": 1, "dropped_coordinates": 3}
        assert report.pending_reasons == {"the gazetteer has no town matching the address": 1}
        got = records(svc)
        for key in ("zero", "ireland", "swapped"):
            assert got[key]["geocoder"] == "gazetteer" and 34.3 < got[key]["lat"] < 34.4
            assert "dropped_coordinates" in got[key]["extra"]
        assert "(0, 0)" in got["zero"]["extra"]["dropped_coordinates"]
        assert "swapped" in got["swapped"]["extra"]["dropped_coordinates"]
        assert got["fine"]["geocode_status"] == "source"
    finally:
        svc.close()


_PENDING_ROWS = (
    "source_id,type,name,address,lat,lon\n"
    "a,clinic,甲診療所,香川県高松市朝日町一丁目1-1,,\n"
    "b,clinic,乙診療所,香川県高松市朝日町一丁目1-2,0,0\n"
    "c,clinic,丙診療所,香川県高松市朝日町一丁目1-3,34.35,134.06\n"
)


@pytest.mark.parametrize(
    ("settings", "why"),
    [
        ({}, "no gazetteer configured (GAZETTEER_FILES): only `mapsvc geocode` can place it"),
        (
            {
                "GEOCODERS_ON_IMPORT": "cache,gsi",
                "GSI_GEOCODER_URL": "http://127.0.0.1:9/search",
                "GEOCODER_TIMEOUT": "1",
            },
            "geocoder unreachable: gsi (",
        ),
    ],
    ids=["no gazetteer", "geocoder unreachable"],
)
def test_import_report_says_why_rows_are_pending(
    settings: dict[str, str], why: str, runner, tmp_path: Path, monkeypatch
) -> None:
    svc = build_services(tmp_path, f"sqlite:///{tmp_path / 's.sqlite'}", **settings)
    for key, value in settings.items():  # the CLI reads its settings from the environment
        monkeypatch.setenv(f"MAPSVC_{key}", value)
    try:
        path = tmp_path / "p.csv"
        path.write_text(_PENDING_ROWS, encoding="utf-8")
        result = run_cli(runner, svc, "import", str(path), "--json")
        assert result.exit_code == 0, result.output
        report = json.loads(result.output)
        assert (report["inserted"], report["placed"]["pending"]) == (3, 2)
        ((reason, count),) = report["pending_reasons"].items()
        assert reason.startswith(why) and count == 2
    finally:
        svc.close()


def test_geocode_pending_says_why(runner, sqlite_services, tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(
        "source_id,type,name,address,lat,lon\n"
        "far,clinic,遠診療所,香川県高松市番町一丁目1,51.5,-0.12\n"
        "noaddr,clinic,住所なし診療所,,,\n",
        encoding="utf-8",
    )
    run_import(sqlite_services, path, tmp_path)
    from mapsvc.cli import main

    env = {
        "MAPSVC_DATABASE_URL": sqlite_services.config["DATABASE_URL"],
        "MAPSVC_INSTANCE_PATH": sqlite_services.config["INSTANCE_PATH"],
        "MAPSVC_GEOCODERS": "cache,gsi",
        "MAPSVC_GSI_GEOCODER_URL": "http://127.0.0.1:9/unreachable",
        "MAPSVC_GEOCODER_TIMEOUT": "0.5",
    }
    out = runner.invoke(main, ["geocode", "--pending", "--json"], env=env, catch_exceptions=False)
    rows = {r["source_id"]: r for r in json.loads(out.output)}
    assert rows["far"]["reasons"] == ["outside_japan", "no_gazetteer", "geocoder_unreachable"]
    assert "lat 51.5: outside Japan" in rows["far"]["why"]
    assert rows["noaddr"]["reasons"] == ["no_coordinates", "no_address"]
    # the test harness's chain: cache and gazetteer, but no gazetteer file
    text = run_cli(runner, sqlite_services, "geocode", "--pending").output
    assert "why: " in text and "no gazetteer configured (GAZETTEER_FILES)" in text
    assert "no online geocoder in the chain" in text

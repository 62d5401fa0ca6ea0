"""Geocoding: offline gazetteer, GSI address search (against a local server), the chain,
the cache, and `mapsvc geocode` for rows imported without coordinates."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from import_support import DATA, records, run_import
from sqlalchemy import func, select

from mapsvc.core.models import AuditEntry, GeocodeCacheEntry
from mapsvc.geo.geocode import GazetteerGeocoder, GeocoderChain, GSIGeocoder, build_chain

ISJ = DATA / "isj_oaza_sample.csv"


def test_isj_gazetteer_normalises_digits_and_kanji_numerals() -> None:
    gaz = GazetteerGeocoder.from_files([ISJ])
    for query in (
        "香川県高松市番町一丁目1番1号",
        "高松市番町１丁目１－１",
        "香川県高松市番町1丁目1-1",
    ):
        loc = gaz.geocode(query)
        assert loc is not None, query
        assert (round(loc.latitude, 4), round(loc.longitude, 4)) == (34.3430, 134.0466)
        assert loc.raw == {"precision": "town", "matched": "番町一丁目"}
    # 二丁目 must not match 一丁目 (no prefix confusion), and a town not listed is not guessed
    assert gaz.geocode("高松市番町二丁目5").raw["matched"] == "番町二丁目"
    assert gaz.geocode("高松市紫雲町1-1") is None
    assert gaz.geocode("岡山県岡山市北区番町一丁目1") is None  # another city's 番町


def test_real_japanese_addresses_gazetteer(real) -> None:
    path = real("takamatsu", "address", "japanese-addresses_kagawa_takamatsu.json")
    gaz = GazetteerGeocoder.from_files([path], "香川県高松市")
    assert len(gaz.entries) == 255
    loc = gaz.geocode("香川県高松市朝日町１丁目３番")  # full-width digits vs 朝日町一丁目
    assert loc is not None and loc.raw["matched"].startswith("朝日町一丁目")
    assert gaz.geocode("高松市仏生山町甲480").raw["matched"].startswith("仏生山町")


class _GSIHandler(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        type(self).requests.append(self.path)
        if "nowhere" in self.path:
            body: Any = []
        elif "london" in self.path:
            body = [{"geometry": {"coordinates": [-0.12, 51.5]}, "properties": {"title": "London"}}]
        else:
            body = [
                {
                    "geometry": {"coordinates": [134.0466, 34.343]},
                    "properties": {"title": "香川県高松市番町一丁目"},
                }
            ]
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def gsi_server() -> Any:
    server = HTTPServer(("127.0.0.1", 0), _GSIHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/address-search/AddressSearch"
    server.shutdown()
    server.server_close()


def test_gsi_geocoder_is_geopy_compatible(gsi_server: str) -> None:
    gsi = GSIGeocoder(gsi_server, timeout=2)
    loc = gsi.geocode("香川県高松市番町一丁目")
    assert (loc.longitude, loc.latitude) == (134.0466, 34.343)
    assert loc.raw["precision"] == "block"
    assert gsi.geocode("nowhere") is None
    assert "q=" in _GSIHandler.requests[-1]


def test_chain_order_cache_and_refusals(gsi_server: str, sqlite_services) -> None:
    config = dict(sqlite_services.config, GAZETTEER_FILES=[str(ISJ)], GSI_GEOCODER_URL=gsi_server)
    chain = build_chain(["cache", "gazetteer", "gsi"], config, sqlite_services.store.sessions)
    town = chain.geocode("高松市仏生山町甲1")
    assert town["geocoder"] == "gazetteer" and town["precision"] == "town"
    online = chain.geocode("香川県高松市紫雲町")  # not in the gazetteer → GSI
    assert online["geocoder"] == "gsi"
    assert chain.geocode("london") is None  # a result outside Japan is refused
    with sqlite_services.store.session() as session:
        assert session.scalar(select(func.count()).select_from(GeocodeCacheEntry)) == 2
    served = len(_GSIHandler.requests)
    again = chain.geocode("香川県高松市紫雲町")
    assert again["geocoder"] == "gsi" and len(_GSIHandler.requests) == served  # from the cache


def test_patient_lookups_are_not_cached(sqlite_services) -> None:
    config = dict(sqlite_services.config, GAZETTEER_FILES=[str(ISJ)])
    chain = build_chain(["cache", "gazetteer"], config, sqlite_services.store.sessions)
    assert chain.geocode("高松市番町一丁目9-9", remember=False) is not None
    with sqlite_services.store.session() as session:
        assert session.scalar(select(func.count()).select_from(GeocodeCacheEntry)) == 0


def test_offline_unreachable_geocoder_leaves_row_pending(sqlite_services) -> None:
    chain = GeocoderChain([("gsi", GSIGeocoder("http://127.0.0.1:9/none", timeout=0.5))])
    assert chain.geocode("香川県高松市番町一丁目") is None


def test_import_then_geocode_pending(services, runner, tmp_path: Path) -> None:
    report = run_import(services, DATA / "jp_standard_medical.csv", tmp_path)
    assert report.pending_geocode == 1
    listed = run_cli(runner, services, "geocode", "--pending", "--json")
    pending = json.loads(listed.output)
    assert [p["name"] for p in pending] == ["中央総合病院"]
    from mapsvc.cli import main

    env = {
        "MAPSVC_DATABASE_URL": services.config["DATABASE_URL"],
        "MAPSVC_INSTANCE_PATH": services.config["INSTANCE_PATH"],
        "MAPSVC_GEOCODERS": "cache,gazetteer",
        "MAPSVC_GAZETTEER_FILES": str(ISJ),
    }
    result = runner.invoke(main, ["geocode", "--json"], env=env, catch_exceptions=False)
    assert json.loads(result.output)["geocoded"] == 1
    hospital = records(services)["3710000003"]
    assert hospital["geocode_status"] == "geocoded" and hospital["geocode_precision"] == "town"
    assert (hospital["lat"], hospital["lon"]) == (34.347, 134.064)
    assert json.loads(run_cli(runner, services, "geocode", "--pending", "--json").output) == []
    with services.store.session() as session:
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "geocode")).one()
    assert audit.before["lon"] is None and audit.after["geocoder"] == "gazetteer"
    # re-importing the file keeps the location found by geocoding: nothing changes
    again = run_import(services, DATA / "jp_standard_medical.csv", tmp_path)
    assert again.summary()["updated"] == 0 and again.summary()["unchanged"] == 4


def test_import_geocodes_offline_with_the_gazetteer(tmp_path: Path) -> None:
    from conftest import build_services

    svc = build_services(tmp_path, f"sqlite:///{tmp_path / 's.sqlite'}", GAZETTEER_FILES=str(ISJ))
    try:
        from mapsvc.geo.geocode import import_geocoder

        report = run_import(
            svc, DATA / "jp_standard_medical.csv", tmp_path, geocode=import_geocoder(svc)
        )
        assert report.pending_geocode == 0
        rec = records(svc)["3710000003"]
        assert rec["geocode_status"] == "geocoded" and rec["geocoder"] == "gazetteer"
    finally:
        svc.close()


def test_gazetteer_keeps_towns_of_different_cities_apart(tmp_path: Path) -> None:
    import csv

    path = tmp_path / "two_cities.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["都道府県名", "市区町村名", "大字町丁目名", "緯度", "経度"])
        w.writerow(["香川県", "高松市", "本町", "34.35", "134.05"])
        w.writerow(["香川県", "丸亀市", "本町", "34.29", "133.80"])
    gaz = GazetteerGeocoder.from_files([path])
    assert gaz.geocode("香川県丸亀市本町1-1").longitude == 133.80
    assert gaz.geocode("高松市本町1-1").longitude == 134.05  # prefecture omitted
    assert gaz.geocode("香川県坂出市本町1-1") is None  # a city the gazetteer does not cover
    assert gaz.geocode("本町1-1") is not None  # no city: taken as local


def test_broken_gazetteer_or_chain_stops_start_up(tmp_path: Path, sqlite_services) -> None:
    from conftest import make_app

    from mapsvc.core.errors import InvalidConfig

    bad = tmp_path / "towns.csv"
    bad.write_text(
        "都道府県名,市区町村名,大字町丁目名,緯度,経度\n香川県,高松市,番町,北緯34度,134.0\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidConfig, match="towns.csv: line 2: 緯度/経度 are not numbers"):
        make_app(sqlite_services, GAZETTEER_FILES=str(bad))
    with pytest.raises(InvalidConfig, match="unknown geocoder 'google'"):
        make_app(sqlite_services, GEOCODERS="cache,google")

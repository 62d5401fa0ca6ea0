"""Input limits (issue 9, item 8): deep or huge GeoJSON, compression bombs in .osm.bz2/.gz
and .xlsx are refused with a clear message naming the file, never a crash or gigabytes."""

from __future__ import annotations

import bz2
import gzip
import json
import zipfile

import pytest
from import_support import run_import

from mapsvc.core import input_limits
from mapsvc.core.errors import ImportFailed
from mapsvc.geo import _osm_xml
from mapsvc.ingest import reader


def test_geojson_nested_200000_deep_is_refused(sqlite_services, tmp_path):
    path = tmp_path / "deep.geojson"
    path.write_text("[" * 200_000 + "]" * 200_000, encoding="utf-8")
    with pytest.raises(ImportFailed) as err:
        run_import(sqlite_services, path, tmp_path)
    assert "nested too deeply" in err.value.message and err.value.field == "file"


def test_geojson_feature_count_is_capped(sqlite_services, tmp_path, monkeypatch):
    monkeypatch.setattr(input_limits, "MAX_GEOJSON_FEATURES", 1000)
    monkeypatch.setattr(
        reader, "parse_geojson", lambda text, name: input_limits.parse_geojson(text, name, 1000)
    )
    path = tmp_path / "many.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{}] * 1001}))
    with pytest.raises(ImportFailed) as err:
        run_import(sqlite_services, path, tmp_path)
    assert "1,001 features, at most 1,000" in err.value.message


@pytest.mark.parametrize("suffix", [".osm.bz2", ".osm.gz"])
def test_a_compression_bomb_stops_at_the_cap(tmp_path, monkeypatch, suffix):
    monkeypatch.setattr(_osm_xml, "MAX_DECOMPRESSED_BYTES", 1_000_000)
    body = b"<osm>" + b" " * 5_000_000 + b"</osm>"
    path = tmp_path / f"bomb{suffix}"
    path.write_bytes(bz2.compress(body) if suffix.endswith("bz2") else gzip.compress(body))
    assert path.stat().st_size < 20_000
    with pytest.raises(ImportFailed) as err:
        list(_osm_xml._iter_osm(path))
    assert "decompresses to more than 1,000,000 bytes" in err.value.message


def test_an_xlsx_that_inflates_past_the_cap_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"0" * 3_000_000)
    with pytest.raises(ImportFailed) as err:
        input_limits.check_zip(path, limit=1_000_000)
    assert "decompresses to 3,000,000 bytes" in err.value.message
    monkeypatch.setattr(reader, "check_zip", lambda p: input_limits.check_zip(p, 1_000_000))
    with pytest.raises(ImportFailed):
        reader.read_raw(path)

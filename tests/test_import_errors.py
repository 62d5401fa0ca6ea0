"""Bad input: a rejected row with its reason or a clear error, never a crash or a silent
drop; a failed import leaves the store unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli
from import_support import DATA, read_rejects, records, run_import, snapshot

from mapsvc.core.errors import ImportFailed
from mapsvc.ingest import importer


def test_bad_rows_are_rejected_with_reasons(services, tmp_path: Path) -> None:
    report = run_import(services, DATA / "generic_bad_rows.csv", tmp_path)
    # issue 14 item 4: real surveys ask pharmacies about ventilator patients, so the row
    # that was rejected as "does not apply" imports (skipping: test_import_robust.py);
    # issue 14 item 10: coordinates outside Japan or swapped drop the coordinates, not the row;
    # a capability value nobody knows costs that cell, not the provider
    assert report.summary() == {
        "inserted": 6,
        "updated": 0,
        "unchanged": 0,
        "rejected": 4,
        "rows": 10,
    }
    assert report.skipped_cells == 1
    (reason,) = report.warnings.keys() - {"derived id (the row has no id of its own)"}
    assert "column ventilator: 'たぶん' is not an acceptance level for ventilator" in reason
    reasons = {
        r["source_id"] + "/" + r["line"]: r["reason"]
        for r in read_rejects(tmp_path / "generic_bad_rows.rejects.csv")
    }
    assert "bad-coords/3" not in reasons and "swapped/4" not in reasons
    assert "check digit should be 3" in reasons["bad-code/5"]
    assert "bad-cap/6" not in reasons
    assert "unknown provider type 'spaceport'" in reasons["bad-type/7"]
    assert "duplicate source id 'ok-1' (first on line 2)" in reasons["ok-1/8"]
    assert "name is empty" in reasons["no-name/9"]
    assert "cap-not-applicable/10" not in reasons
    kept = records(services)
    assert set(kept) == {
        "ok-1",
        "pending",
        "cap-not-applicable",
        "bad-coords",
        "swapped",
        "bad-cap",
    }
    assert "ventilator" not in (kept["bad-cap"].get("capabilities") or {})
    assert kept["bad-cap"]["extra"]["skipped: ventilator"] == "たぶん"  # kept, not lost
    assert kept["cap-not-applicable"]["capabilities"]["ventilator"] == {"level": "accept"}
    assert kept["pending"]["geocode_status"] == "pending" and kept["pending"]["lon"] is None
    for key, why in (("bad-coords", "lat 51.5: outside Japan"), ("swapped", "swapped")):
        assert kept[key]["lon"] is None and kept[key]["geocode_status"] == "pending"
        assert why in kept[key]["extra"]["dropped_coordinates"]


def test_row_with_extra_cells_is_rejected(services, tmp_path: Path) -> None:
    report = run_import(services, DATA / "generic_overflow.csv", tmp_path)
    assert (report.inserted, report.rejected, report.rows) == (1, 1, 2)
    assert (
        "more cells than the header"
        in read_rejects(tmp_path / "generic_overflow.rejects.csv")[0]["reason"]
    )


def test_wrong_encoding_names_line_and_column_and_changes_nothing(services, tmp_path: Path) -> None:
    run_import(services, DATA / "generic_providers.csv", tmp_path)
    before = snapshot(services)
    with pytest.raises(ImportFailed) as info:
        run_import(services, DATA / "bad_encoding.csv", tmp_path)
    assert "bad_encoding.csv: line 2, column 11" in info.value.message
    assert "cannot decode" in info.value.message
    assert snapshot(services) == before


def test_missing_required_columns(services, tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="header matches no known format"):
        run_import(services, DATA / "missing_columns.csv", tmp_path)
    with pytest.raises(ImportFailed) as info:
        run_import(services, DATA / "missing_columns.csv", tmp_path, fmt="jp_standard_medical")
    assert (
        "missing required column(s): address (one of: 所在地_連結表記, 住所" in info.value.message
    )
    assert "missing_columns.csv: line 1" in info.value.message
    assert snapshot(services)[0] == 0


def test_unknown_format_name(services, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="unknown format 'nope'"):
        run_import(services, DATA / "generic_providers.csv", tmp_path, fmt="nope")


def test_failure_while_writing_rolls_everything_back(services, tmp_path: Path, monkeypatch) -> None:
    run_import(services, DATA / "generic_providers.csv", tmp_path)
    before = snapshot(services)

    def explode(target: Path, plan: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(importer, "write_rejects", explode)
    with pytest.raises(OSError, match="disk full"):
        run_import(services, DATA / "generic_bad_rows.csv", tmp_path)  # has inserts and rejects
    assert snapshot(services) == before


def test_broken_mapping_file_is_reported(services, tmp_path: Path) -> None:
    mapping = tmp_path / "broken.yaml"
    mapping.write_text(
        "name: broken\ntitle: 壊れた\nsource: x\ndetect: {all: [a]}\ncolumns: {name: [a], colour: [b]}\n"
        "type: {fixed: spaceport}\ncapabilities: {columns: [{headers: [c], capability: teleport}]}\n",
        encoding="utf-8",
    )
    with pytest.raises(Exception) as info:
        run_import(services, DATA / "generic_providers.csv", tmp_path, mapping_path=mapping)
    message = str(info.value)
    assert "broken.yaml" in message
    assert "columns.colour: unknown target field" in message
    assert "unknown provider type 'spaceport'" in message
    assert "unknown capability 'teleport'" in message


def test_cli_reports_clear_error_and_exit_status(services, runner, tmp_path: Path) -> None:
    result = run_cli(runner, services, "import", str(DATA / "bad_encoding.csv"), "--json")
    assert result.exit_code == 1
    assert "error: " in result.output and "line 2, column 11" in result.output
    assert "Traceback" not in result.output


def test_rejects_default_beside_input_or_instance_when_read_only(
    services, runner, tmp_path: Path, monkeypatch
) -> None:
    import shutil

    src = tmp_path / "in" / "generic_bad_rows.csv"
    src.parent.mkdir()
    shutil.copy(DATA / "generic_bad_rows.csv", src)
    result = run_cli(runner, services, "import", str(src))
    assert result.exit_code == 0, result.output
    assert (src.parent / "generic_bad_rows.rejects.csv").exists()
    assert "rejected rows with reasons:" in result.output
    monkeypatch.setattr(importer, "_can_write", lambda folder: False)  # a read-only data folder
    result = run_cli(runner, services, "import", str(src))
    assert result.exit_code == 0
    assert any(
        (Path(services.config["INSTANCE_PATH"]) / "rejects").glob("generic_bad_rows.*.rejects.csv")
    )


def test_format_refuses_a_file_type_it_does_not_read(services, tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="format kaigo_kohyo reads csv, xlsx files, not geojson"):
        run_import(services, DATA / "generic_providers.geojson", tmp_path, fmt="kaigo_kohyo")
    assert snapshot(services)[0] == 0


def test_geojson_feature_that_is_not_a_point_is_rejected(services, tmp_path: Path) -> None:
    import json

    path = tmp_path / "areas.geojson"
    square = [[[134.0, 34.3], [134.01, 34.3], [134.01, 34.31], [134.0, 34.3]]]
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Polygon", "coordinates": square},
                        "properties": {"source_id": "p1", "type": "clinic", "name": "面の医院"},
                    },
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [134.0, 34.3]},
                        "properties": {"source_id": "p2", "type": "clinic", "name": "点の医院"},
                    },
                ],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    report = run_import(services, path, tmp_path)
    assert (report.inserted, report.rejected) == (1, 1)
    assert "geometry is a Polygon" in read_rejects(tmp_path / "areas.rejects.csv")[0]["reason"]

"""Population import (real Takamatsu files, 自治体標準 and e-Stat fixtures), frames, bands."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import DATA, build_services, real_path, run_cli
from sqlalchemy import delete, func, select

from mapsvc.core.errors import DataUnavailable, ImportFailed, InvalidInput
from mapsvc.core.models import PopulationUnit
from mapsvc.geo.population import (
    BANDS,
    cell_polygons,
    derived_bands,
    import_population,
    population_datasets,
    population_frame,
)

POP_2026 = ("takamatsu", "population", "population_by_town_age_202602.csv")
POP_2022 = ("takamatsu", "population", "population_by_town_age_202212_original_bom.csv")
TAKAMATSU_BBOX = (133.90, 34.10, 134.20, 34.45)


def _units(services) -> int:
    with services.store.session() as session:
        return session.scalar(select(func.count()).select_from(PopulationUnit))


def _independent_totals(path: Path) -> dict[str, tuple[int, int, int]]:
    """regionName -> (totalPopulation, sum of man1..18 + woman1..18, bands 16-18), by csv."""
    text = path.read_text(encoding="utf-8-sig")
    rows = [r for r in csv.reader(text.splitlines()) if r]
    header_at = next(i for i, r in enumerate(rows) if r[0] == "#property")
    header = rows[header_at]
    out = {}
    for r in rows[header_at + 1 :]:
        if r[0].startswith("#"):
            continue
        rec = dict(zip(header, r, strict=True))
        bands = [int(rec[f"man{i}"]) + int(rec[f"woman{i}"]) for i in range(1, 19)]
        out[rec["regionName"]] = (int(rec["totalPopulation"]), sum(bands), sum(bands[15:]))
    return out


def test_takamatsu_2026_towns_sum_to_418129(services):
    path = real_path(*POP_2026)
    report = import_population(services, path, "takamatsu-2026")
    assert (report.format, report.rows, report.loaded, report.rejected) == (
        "takamatsu",
        235,
        235,
        0,
    )
    assert report.total == 418_129
    expected = _independent_totals(path)
    # what the data says: every town's 36 band cells add up to its totalPopulation
    assert report.bands_differ == [k for k, (t, b, _) in expected.items() if t != b] == []
    with services.store.session() as session:
        frame = population_frame(session, "takamatsu-2026")
    assert len(frame) == 235 and int(frame["total"].sum()) == 418_129
    assert int(frame[list(BANDS)].to_numpy().sum()) == 418_129
    by_name = frame.set_index("name")
    for name, (total, band_sum, over75) in expected.items():
        assert by_name.loc[name, "total"] == total
        assert by_name.loc[name, "75+"] == over75  # 75+ = the three top bands (16-18)
        assert by_name.loc[name, list(BANDS)].sum() == band_sum
    assert set(frame["survey_date"]) == {"2026-02-01"}
    assert str(frame.crs) == "EPSG:4326"
    x0, y0, x1, y1 = TAKAMATSU_BBOX
    inside = frame.geometry.x.between(x0, x1) & frame.geometry.y.between(y0, y1)
    # a quirk of the real file: 松島町３丁目 is given as "34.069518,134.069518" (its latitude
    # repeats the longitude's digits), about 30 km south of the town; it is kept as published
    assert list(frame.loc[~inside, "name"]) == ["松島町３丁目"]
    # 塩屋町's representative point is given as "lat,lon"
    assert by_name.loc["塩屋町"].geometry.coords[0] == (134.055021, 34.342286)
    again = import_population(services, path, "takamatsu-2026")
    assert (again.inserted, again.updated, again.unchanged, again.removed) == (0, 0, 235, 0)


def test_units_outside_the_loaded_municipality_boundary_are_reported(sqlite_services):
    from mapsvc.geo.areas import import_areas

    import_areas(
        sqlite_services,
        real_path("takamatsu", "boundary", "N03-21_37_210101_s0010.geojson"),
        "municipality",
    )
    report = import_population(sqlite_services, real_path(*POP_2026), "t")
    assert report.outside_municipality == ["松島町3丁目"]
    assert report.loaded == 235  # reported, not dropped
    with sqlite_services.store.session() as session:
        unit = session.scalar(select(PopulationUnit).where(PopulationUnit.key == "松島町3丁目"))
    assert unit.properties["outside_municipality"] is True
    assert unit.properties["municipality_code"] == "372013"


def test_takamatsu_2022_bom_variant_with_metadata_rows(services):
    path = real_path(*POP_2022)
    report = import_population(services, path)
    expected = _independent_totals(path)
    assert report.dataset == "population_by_town_age_202212_original_bom"
    assert (report.rows, report.loaded, report.rejected) == (235, 235, 0)
    assert report.total == sum(t for t, _, _ in expected.values())
    with services.store.session() as session:
        frame = population_frame(session, report.dataset)
        datasets = population_datasets(session)
    assert set(frame["survey_date"]) == {"2022-12-01"}  # m/d/yyyy in the file
    assert datasets == [
        {
            "dataset": report.dataset,
            "kind": "town",
            "units": 235,
            "total": report.total,
            "survey_date": "2022-12-01",
            "synthetic": False,
        }
    ]


def test_jp_standard_towns_located_by_area_or_gazetteer(tmp_path):
    gazetteer = tmp_path / "towns.csv"
    gazetteer.write_text(
        "都道府県名,市区町村名,大字町丁目名,緯度,経度\n香川県,高松市,番町一丁目,34.3430,134.0466\n",
        encoding="utf-8",
    )
    services = build_services(
        tmp_path, f"sqlite:///{tmp_path / 's.sqlite'}", GAZETTEER_FILES=str(gazetteer)
    )
    try:
        towns = tmp_path / "towns.geojson"
        square = [[134.0, 34.3], [134.01, 34.3], [134.01, 34.31], [134.0, 34.31], [134.0, 34.3]]
        towns.write_text(
            json.dumps(
                {
                    "type": "FeatureCollection",
                    "features": [
                        {
                            "type": "Feature",
                            "properties": {"code": "T001", "name": "架空町"},
                            "geometry": {"type": "Polygon", "coordinates": [square]},
                        }
                    ],
                }
            ),
            encoding="utf-8",
        )
        from mapsvc.geo.areas import import_areas

        import_areas(services, towns, "town")
        report = import_population(services, DATA / "population_jp_standard_cp932.csv", "std")
        assert report.format == "jp_standard"
        # issue 14: a town that cannot be placed is an area-only unit, not a rejection
        assert (report.rows, report.loaded, report.rejected) == (4, 3, 1)
        assert report.area_only == ["行方不明町"]
        assert report.located == {"file": 0, "town_area": 1, "gazetteer": 1, "area_only": 1}
        reasons = dict(report.rejections)
        assert "0-4歳の男性 '12a' is not a non-negative whole number" in reasons[5]
        with services.store.session() as session:
            everything = population_frame(session, "std", area_only=True).set_index("name")
            frame = population_frame(session, "std").set_index("name")
        assert "行方不明町" not in frame.index  # not placeable: never in distance analyses
        lost = everything.loc["行方不明町"]
        assert not lost["placeable"] and lost.geometry is None and lost["total"] == 827
        kakuu = frame.loc["架空町"]
        assert kakuu["area_code"] == "T001"
        assert 134.0 < kakuu.geometry.x < 134.01 and 34.3 < kakuu.geometry.y < 34.31
        assert frame.loc["番町一丁目"].geometry.coords[0] == (134.0466, 34.343)
        rows = list(
            csv.reader((DATA / "population_jp_standard_cp932.csv").read_text("cp932").splitlines())
        )
        header, first = rows[0], rows[1]
        assert frame.loc["番町一丁目", "total"] == int(first[header.index("総人口")])
        assert frame.loc["番町一丁目", "0-4"] == int(first[header.index("0-4歳の男性")]) + int(
            first[header.index("0-4歳の女性")]
        )
    finally:
        services.close()


def test_jp_standard_full_width_tilde_headers_and_missing_band(sqlite_services, tmp_path):
    text = (DATA / "population_jp_standard_cp932.csv").read_text("cp932")
    variant = tmp_path / "tilde.csv"
    variant.write_text(
        text.replace("0-4歳", "0～4歳").replace("5-9歳", "５～９歳"), encoding="utf-8-sig"
    )
    # no town areas and no gazetteer: the towns load as area-only units (issue 14)
    report = import_population(sqlite_services, variant, "tilde")
    assert (report.loaded, report.rejected, len(report.area_only)) == (3, 1, 3)
    with sqlite_services.store.session() as session:
        frame = population_frame(session, "tilde", area_only=True).set_index("name")
        with pytest.raises(DataUnavailable, match="only area-only units"):
            population_frame(session, "tilde")
    assert frame.loc["番町一丁目", "0-4"] == 25 and frame.loc["番町一丁目", "5-9"] == 44
    import_population(sqlite_services, variant, "tilde")  # re-import changes nothing
    with sqlite_services.store.session() as session:
        session.execute(delete(PopulationUnit))
    missing = tmp_path / "missing.csv"
    missing.write_text(text.replace("85歳以上の女性", "八十五歳以上の女性"), encoding="utf-8")
    with pytest.raises(ImportFailed, match="missing age band column.*85歳以上の女性"):
        import_population(sqlite_services, missing)
    assert _units(sqlite_services) == 0


def test_estat_mesh_five_year_bands_hidden_cells_and_unknown_age(sqlite_services):
    report = import_population(
        sqlite_services, DATA / "population_estat_mesh_age5_cp932.csv", "mesh"
    )
    assert report.format == "estat_mesh"
    assert (report.rows, report.loaded, report.rejected) == (4, 3, 1)
    assert "KEY_CODE '12345'" in report.rejections[0][1]
    # the first cell has 3 people of unknown age: in the total, not in the bands
    assert report.bands_differ == ["5339000541"]
    with sqlite_services.store.session() as session:
        frame = population_frame(session, "mesh")
    frame = frame.set_index("key")
    assert frame.loc["5339000541", "total"] == 579
    assert frame.loc["5339000541", list(BANDS)].sum() == 576
    assert frame.loc["5339000543", "total"] == 0  # 秘匿: counted in its 合算先 cell
    raw = list(
        csv.reader((DATA / "population_estat_mesh_age5_cp932.csv").read_text("cp932").splitlines())
    )
    labels, first = raw[1], raw[2]
    over85 = sum(
        int(first[i])
        for i, lab in enumerate(labels)
        if lab.strip("　").split("　")[-1] == "総数"
        and lab.strip("　").startswith(("８５～", "９０～", "９５歳"))
    )
    assert frame.loc["5339000541", "85+"] == over85
    cells = cell_polygons(frame.reset_index())
    first_cell = cells.iloc[0]
    w, s, e, n = first_cell.bounds
    assert (n - s) == pytest.approx(7.5 / 3600) and (e - w) == pytest.approx(11.25 / 3600)
    assert first_cell.contains(frame.reset_index().geometry.iloc[0])


def test_reimport_updates_removes_and_failures_change_nothing(sqlite_services, tmp_path):
    path = real_path(*POP_2026)
    import_population(sqlite_services, path, "t")
    lines = path.read_text(encoding="utf-8").splitlines()
    shorter = tmp_path / path.name  # same name: only the content differs
    shorter.write_text("\n".join(lines[:-5]) + "\n", encoding="utf-8")
    report = import_population(sqlite_services, shorter, "t")
    assert (report.loaded, report.removed, report.unchanged) == (230, 5, 230)
    before = _units(sqlite_services)
    providers = DATA / "generic_providers.csv"
    with pytest.raises(ImportFailed, match="unknown population format"):
        import_population(sqlite_services, providers, "t")
    with pytest.raises(ImportFailed, match="nothing.csv: file not found"):
        import_population(sqlite_services, tmp_path / "nothing.csv", "t")
    with pytest.raises(InvalidInput, match="dataset name"):
        import_population(sqlite_services, path, "bad name!")
    assert _units(sqlite_services) == before


def test_derived_bands_and_missing_dataset(sqlite_services):
    bands = {b: i for i, b in enumerate(BANDS)}  # 0..17
    assert derived_bands(bands) == {
        "total": 153,
        "65+": 13 + 14 + 15 + 16 + 17,
        "75+": 15 + 16 + 17,
    }
    with pytest.raises(KeyError):
        derived_bands({"0-4": 1})
    with (
        sqlite_services.store.session() as session,
        pytest.raises(DataUnavailable, match="'nope' is not loaded"),
    ):
        population_frame(session, "nope")


def test_cli_population_import_and_list(runner, sqlite_services):
    result = run_cli(
        runner,
        sqlite_services,
        "population",
        "import",
        str(real_path(*POP_2026)),
        "--dataset",
        "tk",
        "--json",
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["rows"], summary["loaded"], summary["rejected"], summary["total"]) == (
        235,
        235,
        0,
        418129,
    )
    listing = run_cli(runner, sqlite_services, "population", "list").output
    assert "tk" in listing and "418,129" in listing
    result = run_cli(
        runner, sqlite_services, "population", "import", str(DATA / "generic_providers.csv")
    )
    assert result.exit_code == 1 and "unknown population format" in result.output


def test_reimport_refreshes_the_planners_cached_indicators(sqlite_services, tmp_path):
    """A running planner sees a re-imported population (its cache keys on the generation)."""
    from mapsvc.geo.areas import import_areas
    from mapsvc.planner.choropleth import cached_indicators

    import_areas(
        sqlite_services,
        real_path("takamatsu", "boundary", "N03-21_37_210101_s0010.geojson"),
        "municipality",
        municipality_code="37201",
    )
    path = real_path(*POP_2026)

    def city_total() -> float:
        _, frame = cached_indicators(sqlite_services, "t")
        row = frame[
            (frame["area_kind"] == "municipality") & (frame["indicator"] == "population:total")
        ]
        return float(row["value"].iloc[0])

    import_population(sqlite_services, path, "t")
    full = city_total()
    generation = sqlite_services.store.generation()
    import_population(sqlite_services, path, "t")  # unchanged: caches stay valid
    assert sqlite_services.store.generation() == generation
    lines = path.read_text(encoding="utf-8").splitlines()
    shorter = tmp_path / path.name
    shorter.write_text("\n".join(lines[:-5]) + "\n", encoding="utf-8")
    import_population(sqlite_services, shorter, "t")
    removed = {
        name: total
        for name, (total, _, _) in _independent_totals(path).items()
        if name not in _independent_totals(shorter)
    }
    assert len(removed) == 5
    assert city_total() == full - sum(removed.values())

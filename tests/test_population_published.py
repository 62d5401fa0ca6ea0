"""Population files as cities publish them (issue 14 item 14): real 防府市 and 越前市 files,
decimal counts, branch-office prefixes, subtotal rows, single-year tables, area-only units."""

from __future__ import annotations

import csv
from pathlib import Path

from conftest import build_services, real_path

from mapsvc.geo.population import BANDS, import_population, population_frame

HOFU = ("municipal", "yamaguchi", "04_352063_population.csv")
ECHIZEN = ("municipal", "echizen", "0214machibetsujumin.csv")


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines()))


def test_hofu_loads_every_area_with_the_files_own_total(sqlite_services):
    path = real_path(*HOFU)
    rows = _rows(path)
    report = import_population(sqlite_services, path, "hofu")
    assert report.format == "jp_standard"
    assert (report.rows, report.loaded, report.rejected) == (len(rows), len(rows), 0)
    assert report.total == sum(int(r["総人口"]) for r in rows)
    # no town layer and no gazetteer: every 地区 is an area-only unit, none is lost
    assert sorted(report.area_only) == sorted(r["地域名"] for r in rows)
    with sqlite_services.store.session() as session:
        frame = population_frame(session, "hofu", area_only=True).set_index("name")
    mure = next(r for r in rows if r["地域名"] == "牟礼")
    assert frame.loc["牟礼", "0-4"] == int(mure["0-4歳の男性"]) + int(mure["0-4歳の女性"])
    assert frame.loc["牟礼", "municipality_code"] == "352063"
    assert not frame["placeable"].any()
    again = import_population(sqlite_services, path, "hofu")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, len(rows))


def test_hofu_areas_placed_by_a_gazetteer_of_another_prefecture(tmp_path):
    gazetteer = tmp_path / "yamaguchi.json"
    gazetteer.write_text(
        '[{"town": "牟礼", "koaza": "", "lat": 34.06, "lng": 131.59},'
        ' {"town": "松崎町", "koaza": "", "lat": 34.05, "lng": 131.57}]',
        encoding="utf-8",
    )
    services = build_services(
        tmp_path,
        f"sqlite:///{tmp_path / 's.sqlite'}",
        GAZETTEER_FILES=str(gazetteer),
        GAZETTEER_PREFIX="山口県防府市",
    )
    try:
        report = import_population(services, real_path(*HOFU), "hofu")
        assert report.located["gazetteer"] >= 1 and report.located["area_only"] >= 1
        with services.store.session() as session:
            frame = population_frame(session, "hofu").set_index("name")
        assert frame.loc["牟礼"].geometry.coords[0] == (131.59, 34.06)
    finally:
        services.close()


def test_echizen_subtotal_rows_are_skipped_and_never_double_counted(sqlite_services):
    path = real_path(*ECHIZEN)
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))[1:]
    report = import_population(sqlite_services, path, "echizen")
    assert report.format == "area_totals"
    subtotal_names = {
        r[0] for r in rows if r[0] == "越前市" or r[0].replace(" ", "").endswith("地区")
    }
    leaves = [r for r in rows if r[0] not in subtotal_names]
    city = next(int(r[2]) for r in rows if r[0] == "越前市")
    assert len(subtotal_names) == 18  # the city and its 17 districts
    assert report.total == sum(int(r[2]) for r in leaves) == city == 80337
    assert {why.split(":")[0] for _, why in report.subtotals} == subtotal_names
    assert report.loaded == len(leaves) and report.rejected == 0
    assert report.rows == report.loaded + report.rejected + len(report.subtotals)
    assert report.without_bands == len(leaves)


def _standard_header() -> list[str]:
    bands = [f"{b}歳の{s}" for b in BANDS[:-1] for s in ("男性", "女性")]
    bands += ["85歳以上の男性", "85歳以上の女性"]
    return ["市区町村コード", "地域コード", "都道府県名", "市区町村名", "調査年月日", "地域名",
            "総人口", "男性", "女性", *bands]  # fmt: skip


def test_decimal_counts_branch_prefixes_and_named_subtotals(sqlite_services, tmp_path):
    header = _standard_header()

    def row(name: str, n: int) -> list[str]:
        cells = [f"{n}.00"] * 36
        return ["352063", "", "山口県", "防府市", "2025/4/1", name, f"{n * 36}.00",
                f"{n * 18}.00", f"{n * 18}.00", *cells]  # fmt: skip

    lines = [header, row("本庁_牟礼", 2), row("本庁_松崎", 3), row("本庁計", 5),
             row("小野支所_小野", 1), row("防府市", 6)]  # fmt: skip
    lines[1][14] = "2752.5"  # not a whole number: this row alone is rejected
    path = tmp_path / "pop.csv"
    path.write_text("\n".join(",".join(c) for c in lines) + "\n", encoding="utf-8")
    report = import_population(sqlite_services, path, "p")
    assert report.rejected == 1 and "2752.5" in report.rejections[0][1]
    assert sorted(why.split(":")[0] for _, why in report.subtotals) == ["本庁計", "防府市"]
    assert report.total == 36 * 3 + 36 * 1
    with sqlite_services.store.session() as session:
        frame = population_frame(session, "p", area_only=True).set_index("name")
    assert set(frame.index) == {"松崎", "小野"}
    assert frame.loc["松崎", "0-4"] == 6


def test_single_year_table_summed_into_five_year_bands(sqlite_services, tmp_path):
    lines = ["地域名,年齢,男,女,計"]
    expected = dict.fromkeys(BANDS, 0)
    for town, factor in (("大町", 1), ("小町", 2)):
        for age in range(0, 100):
            m, f = factor * (age % 7), factor * (age % 5)
            lines.append(f"{town},{age}歳,{m},{f},{m + f}")
            if town == "大町":
                expected[BANDS[min(age // 5, 17)]] += m + f
        lines.append(f"{town},100歳以上,{factor},0,{factor}")
        lines.append(f"{town},0～4歳,99,99,198")  # five-year subtotal of the single years
        lines.append(f"{town},計,0,0,999999")  # the area's own total row
    lines.append("合計,計,0,0,999999")
    expected["85+"] += 1
    path = tmp_path / "single.csv"
    path.write_text("\n".join(lines) + "\n", encoding="cp932")
    report = import_population(sqlite_services, path, "s")
    assert report.format == "single_year" and report.rejected == 0
    with sqlite_services.store.session() as session:
        frame = population_frame(session, "s", area_only=True).set_index("name")
    assert set(frame.index) == {"大町", "小町"}
    assert {b: int(frame.loc["大町", b]) for b in BANDS} == expected
    assert frame.loc["大町", "total"] == sum(expected.values())
    assert frame.loc["小町", "total"] == 2 * (sum(expected.values()) - 1) + 2
    assert [why.split(":")[0] for _, why in report.subtotals] == ["合計"]


def test_standard_header_variants_town_column_and_sex_suffixes(sqlite_services, tmp_path):
    header = _standard_header()
    header[header.index("地域名")] = "町丁名"
    header = [h.replace("歳の男性", "歳男").replace("歳の女性", "歳（女）") for h in header]
    header[header.index("総人口")] = "人口総数"
    row = ["352063", "", "山口県", "防府市", "2025/4/1", "本庁_牟礼", "72", "36", "36", *["2"] * 36]
    path = tmp_path / "variant.csv"
    path.write_text(",".join(header) + "\n" + ",".join(row) + "\n", encoding="cp932")
    report = import_population(sqlite_services, path, "v")
    assert report.format == "jp_standard" and report.total == 72 and report.rejected == 0
    with sqlite_services.store.session() as session:
        frame = population_frame(session, "v", area_only=True).set_index("name")
    assert frame.loc["牟礼", "85+"] == 4


def test_cli_reports_subtotals_and_area_only_units(runner, sqlite_services):
    from conftest import run_cli

    out = run_cli(runner, sqlite_services, "population", "import", str(real_path(*ECHIZEN)))
    assert out.exit_code == 0, out.output
    assert "subtotal row skipped (越前市: total of the whole file)" in out.output
    assert "loaded as area-only units" in out.output and "total population 80,337" in out.output


def _square_area(tmp_path: Path, code: str, x0: float, y0: float) -> Path:
    import json

    ring = [[x0, y0], [x0 + 0.1, y0], [x0 + 0.1, y0 + 0.1], [x0, y0 + 0.1], [x0, y0]]
    path = tmp_path / f"{code}.geojson"
    feature = {
        "type": "Feature",
        "properties": {"code": code, "name": f"市{code}"},
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), "utf-8")
    return path


def _city_total(services, dataset: str, code: str) -> float:
    from mapsvc.planner.analyses import run_indicators

    _, frame = run_indicators(services, dataset)
    row = frame[(frame["area_code"] == code) & (frame["indicator"] == "population:total")]
    return float(row["value"].iloc[0])


def test_area_only_units_count_in_per_area_indicators(sqlite_services, tmp_path):
    from mapsvc.geo.areas import import_areas

    import_areas(sqlite_services, _square_area(tmp_path, "35206", 131.5, 34.0), "municipality")
    path = real_path(*HOFU)
    report = import_population(sqlite_services, path, "hofu")
    assert len(report.area_only) == report.loaded  # no point at all
    assert _city_total(sqlite_services, "hofu", "352063") == report.total


def test_mixed_placed_and_area_only_units_in_indicators(sqlite_services, tmp_path):
    from conftest import DATA

    from mapsvc.geo.areas import import_areas

    import_areas(sqlite_services, real_path("takamatsu", "boundary", "N03-21_37_210101_s0010.geojson"), "municipality")  # fmt: skip
    import_areas(sqlite_services, _square_area(tmp_path, "T001", 134.0, 34.3), "town")
    report = import_population(sqlite_services, DATA / "population_jp_standard_cp932.csv", "m")
    assert report.located["town_area"] == 1 and report.located["area_only"] == 2
    assert _city_total(sqlite_services, "m", "372013") == report.total == 687 + 856 + 827

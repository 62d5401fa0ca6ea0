"""Service-area codes and names (issue 14 item 6): 5-digit 全国地方公共団体コード match the
stored 6-digit codes, names resolve against loaded areas, and an area that cannot be
resolved is an import warning, shown in the finder and on the admin dashboard as
「対応地域を特定できません」 — never a silent radius."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from conftest import real_path, run_cli
from import_support import run_import
from shapely.geometry import box

from mapsvc.core.filters import FilterSet
from mapsvc.geo.area_codes import code_candidates, lookup_code, name_key
from mapsvc.geo.areas import import_areas

N03 = ("takamatsu", "boundary", "N03-21_37_210101_s0010.geojson")
TAKAMATSU_STATION = (134.0467, 34.3506)
MARUGAME = (133.7975, 34.2895)  # 丸亀市 (code 37202 / 372021), ~24 km from Takamatsu station


def test_code_candidates_and_lookup_by_code_or_name() -> None:
    assert code_candidates("37201") == (None, ["37201", "372013"])
    assert code_candidates("３７２０１３") == (None, ["372013", "37201"])
    assert code_candidates("municipality:37201") == ("municipality", ["37201", "372013"])
    assert code_candidates("37209")[1] == ["37209", "372099"]  # check digit computed
    table = {("municipality", "372013"): (box(0, 0, 1, 1), "高松市")}
    assert lookup_code("37201", table) is table[("municipality", "372013")]
    assert lookup_code("372013", table) is table[("municipality", "372013")]
    assert lookup_code("高松市", table) is table[("municipality", "372013")]
    assert lookup_code("香川県 高松市", table) is table[("municipality", "372013")]
    assert lookup_code("372021", table) is None and lookup_code("丸亀市", table) is None
    assert name_key("香川県高松市") == "高松市" and name_key("北海道") == "北海道"


def _csv(tmp_path, rows: list[str]):
    path = tmp_path / "providers.csv"
    header = "source_id,type,name,address,lat,lon,service_area_codes"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def test_five_digit_codes_names_and_unresolved_areas_end_to_end(runner, sqlite_services, tmp_path):
    import_areas(sqlite_services, real_path(*N03), "municipality")
    lon, lat = MARUGAME
    path = _csv(
        tmp_path,
        [
            f"a,clinic,五桁診療所,香川県丸亀市,{lat},{lon},37201",  # 5 digits: 高松市
            f"b,clinic,名前診療所,香川県丸亀市,{lat},{lon},香川県高松市",  # a name
            "c,clinic,不明診療所,香川県高松市,34.34,134.05,99999",  # no such area, 1 km away
        ],
    )
    report = run_import(sqlite_services, path, tmp_path)
    assert report.inserted == 3
    assert len(report.area_warnings) == 1
    assert (
        "不明診療所" in report.area_warnings[0]
        and "対応地域を特定できません" in report.area_warnings[0]
    )
    assert "99999" in report.area_warnings[0]

    from mapsvc.finder.index import shared_index
    from mapsvc.finder.search import find_providers

    index = shared_index(sqlite_services, refresh_s=0)
    result = find_providers(index, *TAKAMATSU_STATION, FilterSet())
    by_name = {index.columns["name"][m.pos]: m for m in result.matches}
    # the explicit area (高松市) holds the station although the clinics are 24 km away
    assert by_name["五桁診療所"].area_rule == "polygon"
    assert by_name["名前診療所"].area_rule == "polygon"
    # the unresolved one is not silently a radius: its reason says so
    unresolved = [r.get("ja") for r in by_name["不明診療所"].reasons]
    assert any("対応地域を特定できません" in r for r in unresolved)
    assert not any("対応地域を特定できません" in r.get("ja") for r in by_name["五桁診療所"].reasons)

    from mapsvc.upkeep.dashboard import build_dashboard

    with sqlite_services.store.session() as session:
        dash = build_dashboard(
            session, sqlite_services.taxonomy, now=datetime(2026, 12, 1), config={}
        )
    assert dash.unresolved_area_count == 1
    assert dash.unresolved_areas[0]["name"] == "不明診療所"
    assert dash.unresolved_areas[0]["unresolved"] == ["99999"]
    assert np.isfinite(by_name["五桁診療所"].distance_m)

    # the CLI prints the warning (rows written under another source: inserted again)
    out = run_cli(runner, sqlite_services, "import", str(path), "--source", "again")
    assert "warning: 不明診療所" in out.output, out.output

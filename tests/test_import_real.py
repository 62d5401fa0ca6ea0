"""Every real provider list in ../shared/data/real imports completely and idempotently.

The files are read in place (never copied into the project); without the folder these
tests skip, saying so.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REAL, real_path, run_cli
from import_support import read_rejects, records

PROVIDER_LISTS = [
    "hospital.csv",
    "hospital_original_2025-07.csv",
    "hospital_gh-pages_2024-09.geojson",
    "regional_comprehensive_support_center.csv",
    "regional_comprehensive_support_center_gh-pages_2024-09.geojson",
    "elderly_welfare_facility.csv",
    "elderly_welfare_facility_gh-pages_2024-09.geojson",
    "group_home.csv",
    "nursing_home.csv",
    "health_center.csv",
    "welfare_hall.csv",
    "elderly_welfare_center.csv",
]


def test_the_list_names_every_facility_file() -> None:
    folder = REAL / "takamatsu" / "facilities"
    if not folder.exists():
        pytest.skip(f"real data not available: {folder}")
    assert sorted(p.name for p in folder.iterdir()) == sorted(PROVIDER_LISTS)


@pytest.mark.real
@pytest.mark.parametrize("name", PROVIDER_LISTS)
def test_real_file_imports_completely_and_idempotently(
    name: str, services, runner, tmp_path: Path
) -> None:
    path = real_path("takamatsu", "facilities", name)
    rejects = tmp_path / "rejects.csv"
    first = run_cli(runner, services, "import", str(path), "--json", "--rejects", str(rejects))
    assert first.exit_code == 0, first.output
    counts = json.loads(first.output)
    assert set(counts) == {
        "inserted",
        "updated",
        "unchanged",
        "rejected",
        "rows",
        "derived_ids",
        "skipped_cells",
        "warnings",
        "area_warnings",
        "placed",
        "pending_reasons",
    }
    assert (
        counts["inserted"] + counts["updated"] + counts["unchanged"] + counts["rejected"]
        == counts["rows"]
    )
    assert counts["rows"] > 0 and counts["inserted"] > 0
    if counts["rejected"]:
        rows = read_rejects(rejects)
        assert len(rows) == counts["rejected"]
        assert all(r["reason"].strip() and r["line"].isdigit() for r in rows)
    second = run_cli(
        runner, services, "import", str(path), "--json", "--rejects", str(tmp_path / "again.csv")
    )
    again = json.loads(second.output)
    assert again["inserted"] == 0 and again["updated"] == 0
    assert again["unchanged"] == counts["inserted"] + counts["updated"] + counts["unchanged"]


@pytest.mark.real
def test_takamatsu_hospital_quirks(sqlite_services, runner, tmp_path: Path) -> None:
    path = real_path("takamatsu", "facilities", "hospital.csv")
    result = run_cli(
        runner, sqlite_services, "import", str(path), "--json", "--rejects", str(tmp_path / "r.csv")
    )
    assert json.loads(result.output)["rows"] == 617
    recs = list(records(sqlite_services, "takamatsu").values())
    by_type: dict[str, int] = {}
    for r in recs:
        by_type[r["type"]] = by_type.get(r["type"], 0) + 1
    assert by_type == {
        "hospital": 32,
        "clinic": 363,
        "dental_clinic": 221,
    }  # 222 dental rows, one duplicate
    # the phone column's header has an ideographic space (telephone　number)
    assert sum(1 for r in recs if r["phone"]) > 600
    suspended = [r for r in recs if r["status"] == "suspended"]
    assert len(suspended) == 10 and all("休止中" not in r["name"] for r in suspended)
    nishioka = next(r for r in recs if r["name"].startswith("西岡耳鼻咽喉科医院"))
    assert nishioka["lon"] is None and nishioka["geocode_status"] == "pending"
    assert nishioka["municipality_code"] == "372013"  # the default of the city's own mapping
    assert all(r["municipality_code"] == "372013" for r in recs)
    # the one row listed twice in the file is rejected as a duplicate, not silently merged
    rejects = read_rejects(tmp_path / "r.csv")
    assert len(rejects) == 1 and "duplicate source id" in rejects[0]["reason"]


@pytest.mark.real
def test_snapshots_of_one_dataset_update_the_same_records(
    sqlite_services, runner, tmp_path: Path
) -> None:
    """The city renumbers `#property` between snapshots; rows are matched by name and town."""
    new = real_path("takamatsu", "facilities", "hospital.csv")
    old = real_path("takamatsu", "facilities", "hospital_gh-pages_2024-09.geojson")
    run_cli(
        runner, sqlite_services, "import", str(old), "--json", "--rejects", str(tmp_path / "a.csv")
    )
    result = run_cli(
        runner, sqlite_services, "import", str(new), "--json", "--rejects", str(tmp_path / "b.csv")
    )
    counts = json.loads(result.output)
    assert counts["updated"] + counts["unchanged"] > 500  # most providers are the same records
    assert counts["inserted"] < 100

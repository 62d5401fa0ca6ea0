"""`mapsvc mapping suggest` writes a mapping that loads a city's own file (issue 14 item 13).

For each city-own file under ../shared/data/real/municipal: suggest (with --type only when
no column or name can say it), import with the result unedited, and check that ≥ 90 % of the
rows load (rows of kinds mapsvc does not map, such as schools, are rejected with that
reason and not counted against it) with the right types.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import REAL, run_cli
from import_support import read_rejects, records

OUT_OF_SCOPE = "this kind of facility is not a home-care resource mapsvc maps"

# file -> (--type or None, types that must all be present, types that may be present)
CASES = {
    "municipal/kumamoto/byouin_list.csv": (None, {"hospital"}, {"hospital"}),
    "municipal/kumamoto/byouin_list.xlsx": (None, {"hospital"}, {"hospital"}),
    "municipal/kumamoto/yakkyoku_list.csv": (None, {"pharmacy"}, {"pharmacy"}),
    "municipal/hokkaido/hospital_list.csv": ("hospital", {"hospital"}, {"hospital"}),
    "municipal/yaizu/222127_kyuugobyouinn.csv": ("hospital", {"hospital"}, {"hospital"}),
    "municipal/echizen/iryoukikan.csv": (
        None,
        {"hospital", "clinic", "dental_clinic"},
        {"hospital", "clinic", "dental_clinic"},
    ),
    "municipal/kyoto/kaigo-all-20240901.csv": (
        None,
        {"home_help", "home_nursing", "care_management", "day_care", "residential", "pharmacy"},
        None,
    ),
    "municipal/yaizu/yohairyosya.csv": (None, {"day_care", "residential", "hospital"}, None),
}


def test_every_city_own_file_has_a_case() -> None:
    from test_real_files import CITY_OWN

    assert set(CASES) == CITY_OWN


@pytest.mark.real
@pytest.mark.parametrize("name", sorted(CASES))
def test_suggested_mapping_loads_the_file(
    name: str, sqlite_services, runner, tmp_path: Path
) -> None:
    path = REAL / name
    if not path.exists():
        pytest.skip(f"real data not available: {path} (../shared/data/real is absent)")
    provider_type, must, may = CASES[name]
    out = tmp_path / "mapping.yaml"
    args = ["mapping", "suggest", str(path), "--out", str(out)]
    if provider_type:
        args += ["--type", provider_type]
    result = run_cli(runner, sqlite_services, *args)
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# Suggested by") and "# What was guessed" in text
    rejects = tmp_path / "r.csv"
    imported = run_cli(
        runner,
        sqlite_services,
        "import",
        str(path),
        "--mapping",
        str(out),
        "--json",
        "--rejects",
        str(rejects),
    )
    assert imported.exit_code == 0, imported.output
    counts = json.loads(imported.output)
    assert (
        counts["inserted"] + counts["updated"] + counts["unchanged"] + counts["rejected"]
        == counts["rows"]
    )
    reasons = (
        Counter(r["reason"] for r in read_rejects(rejects)) if counts["rejected"] else Counter()
    )
    in_scope = counts["rows"] - reasons[OUT_OF_SCOPE]
    loaded = counts["inserted"] + counts["unchanged"]  # unchanged: repeated rows merged
    assert loaded >= 0.9 * in_scope, (counts, reasons.most_common(5))
    types = Counter(r["type"] for r in records(sqlite_services).values())
    assert must <= set(types), types
    if may is not None:
        assert set(types) <= may, types
    again = run_cli(
        runner,
        sqlite_services,
        "import",
        str(path),
        "--mapping",
        str(out),
        "--json",
        "--rejects",
        str(tmp_path / "r2.csv"),
    )
    second = json.loads(again.output)
    assert second["inserted"] == 0 and second["updated"] == 0


def test_suggest_rejects_an_unknown_type(sqlite_services, runner, tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("名称,住所\nA医院,高松市1\n", encoding="utf-8")
    result = run_cli(
        runner, sqlite_services, "mapping", "suggest", str(path), "--type", "spaceport"
    )
    assert result.exit_code != 0 and "unknown provider type 'spaceport'" in result.output

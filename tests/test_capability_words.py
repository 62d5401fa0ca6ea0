"""What real surveys write for a capability, and what an unreadable answer costs (one cell).

Municipal surveys and spreadsheets answer 「対応可」「○」「相談可」「×」 with full-width
letters, spaces and brackets; each must land on its level. A value nobody knows is reported
with its reason and kept in ``extra`` while the provider and its other answers import.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT
from import_support import records, run_import

from mapsvc.core.taxonomy import load_taxonomy

TAXONOMY = load_taxonomy(ROOT / "layers" / "taxonomy.yaml")

LEVELS = {
    "accept": [
        "対応可",
        "可",
        "○",
        "◯",
        "〇",
        "あり",
        "有",
        "有り",
        "受け入れ可",
        "受入れ可",
        "受入可",
    ],
    "consult": ["要相談", "応相談", "相談可", "△", "条件付き可"],
    "no": ["不可", "×", "✕", "なし", "無", "無し", "対応不可"],
    "active": ["◎", "積極的受入", "積極的に受け入れ"],
}
# how one word is typed: full-width / half-width, spaces inside and around, brackets
SPELLINGS = {
    "as is": lambda w: w,
    "spaces": lambda w: f" {w[0]}\u3000{w[1:]} " if len(w) > 1 else f"\u3000{w} ",
    "full-width brackets": lambda w: f"（{w}）",
    "half-width brackets": lambda w: f"({w})",
    "trailing 。": lambda w: f"{w}。",
}


@pytest.mark.parametrize("spelling", sorted(SPELLINGS))
@pytest.mark.parametrize("level", sorted(LEVELS))
def test_survey_words_land_on_their_level(level: str, spelling: str) -> None:
    for word in LEVELS[level]:
        written = SPELLINGS[spelling](word)
        assert TAXONOMY.parse_value("ventilator", written) == {"level": level}, written


def test_half_width_kana_answers() -> None:
    assert TAXONOMY.parse_value("ventilator", "ｱﾘ") == {"level": "accept"}
    assert TAXONOMY.parse_value("ventilator", "ﾅｼ") == {"level": "no"}
    assert TAXONOMY.parse_value("nursing_24h_addition", "有り") == {"level": "yes"}
    assert TAXONOMY.parse_value("nursing_24h_addition", "無し") == {"level": "no"}


def test_unknown_words_are_still_refused_with_the_expected_words() -> None:
    for word in ("たぶん", "検討中", "???", "可不可"):
        with pytest.raises(ValueError, match="is not an acceptance level for ventilator"):
            TAXONOMY.parse_value("ventilator", word)


def test_an_unknown_answer_costs_its_cell_not_the_provider(sqlite_services, tmp_path: Path) -> None:
    path = tmp_path / "survey.csv"
    path.write_text(
        "source_id,type,name,address,ventilator,night_response,response_24h\n"
        "st-1,home_nursing,訪問看護ステーションそら,香川県高松市番町1-1,相談可,検討中,（ 対応 可 ）\n"
        "st-2,home_nursing,訪問看護ステーションうみ,香川県高松市番町1-2,ｱﾘ,×,たぶん\n",
        encoding="utf-8",
    )
    report = run_import(sqlite_services, path, tmp_path, fmt="generic")
    assert (report.inserted, report.rejected, report.skipped_cells) == (2, 0, 2)
    reasons = sorted(report.warnings)
    assert any("column night_response: '検討中' is not an acceptance level" in r for r in reasons)
    assert any("column response_24h: 'たぶん' is not an acceptance level" in r for r in reasons)
    recs = records(sqlite_services)
    assert recs["st-1"]["capabilities"] == {
        "ventilator": {"level": "consult"},
        "response_24h": {"level": "accept"},
    }
    assert recs["st-1"]["extra"] == {"skipped: night_response": "検討中"}
    assert recs["st-2"]["capabilities"] == {
        "ventilator": {"level": "accept"},
        "night_response": {"level": "no"},
    }
    assert recs["st-2"]["extra"] == {"skipped: response_24h": "たぶん"}

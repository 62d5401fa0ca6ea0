"""Municipality codes, address normalisation and configuration layering."""

from __future__ import annotations

from pathlib import Path

import pytest

from mapsvc.core.addresses import kanji_to_int, normalise
from mapsvc.core.codes import check_digit, normalise_municipality_code
from mapsvc.core.config import load_config
from mapsvc.core.errors import InvalidConfig


@pytest.mark.parametrize(
    ("code5", "digit"),
    [("37201", "3"), ("01100", "2"), ("13101", "6"), ("13000", "1"), ("47201", "8")],
)
def test_check_digit(code5: str, digit: str) -> None:
    assert check_digit(code5) == digit


def test_municipality_code_normalisation() -> None:
    assert normalise_municipality_code("37201") == "372013"
    assert normalise_municipality_code("３７２０１３") == "372013"
    assert normalise_municipality_code("372013.0") == "372013"
    with pytest.raises(ValueError, match="check digit should be 3"):
        normalise_municipality_code("372014")
    with pytest.raises(ValueError, match="prefecture 99"):
        normalise_municipality_code("99201")
    with pytest.raises(ValueError, match="not 5 or 6 digits"):
        normalise_municipality_code("3720")


def test_address_normalisation() -> None:
    assert (
        kanji_to_int("二十三") == 23
        and kanji_to_int("百五") == 105
        and kanji_to_int("一〇五") == 105
    )
    assert normalise("香川県高松市朝日町一丁目３番") == normalise("香川県高松市朝日町1丁目3番")
    assert normalise("高松市香南町大字由佐１１３") == "高松市香南町由佐113"


def test_config_layers(tmp_path: Path) -> None:
    (tmp_path / "mapsvc.toml").write_text(
        'RECONFIRM_MONTHS = 6\nDEFAULT_LANGUAGE = "en"\n', encoding="utf-8"
    )
    env = {
        "MAPSVC_INSTANCE_PATH": str(tmp_path),
        "MAPSVC_DEFAULT_LANGUAGE": "ja",
        "MAPSVC_GEOCODERS": "cache, gsi",
    }
    config = load_config({"STALE_MONTHS": "3"}, environ=env)
    assert config["RECONFIRM_MONTHS"] == 6  # instance file
    assert config["DEFAULT_LANGUAGE"] == "ja"  # environment beats the file
    assert config["GEOCODERS"] == ["cache", "gsi"]
    assert config["STALE_MONTHS"] == 3  # overrides beat everything, parsed
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path.resolve() / 'mapsvc.sqlite'}"


def test_config_refuses_unknown_and_misplaced_settings(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfig, match="unknown setting 'DATABSE_URL'"):
        load_config(environ={"MAPSVC_INSTANCE_PATH": str(tmp_path), "MAPSVC_DATABSE_URL": "x"})
    (tmp_path / "mapsvc.toml").write_text('SECRET_KEY = "s"\n', encoding="utf-8")
    with pytest.raises(InvalidConfig, match="SECRET_KEY must come from the environment"):
        load_config(environ={"MAPSVC_INSTANCE_PATH": str(tmp_path)})
    with pytest.raises(InvalidConfig, match="unknown setting 'RECONFIRM_MONTH'"):
        load_config({"RECONFIRM_MONTH": 3}, environ={"MAPSVC_INSTANCE_PATH": str(tmp_path / "x")})
    with pytest.raises(InvalidConfig, match="RECONFIRM_MONTHS"):
        load_config(
            {"RECONFIRM_MONTHS": "soon"}, environ={"MAPSVC_INSTANCE_PATH": str(tmp_path / "x")}
        )


def test_every_setting_is_documented() -> None:
    """README.md carries the generated settings table, current with mapsvc/core/config.py."""
    import sys

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "scripts"))
    try:
        from settings_table import render
    finally:
        sys.path.pop(0)
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert render(readme) == readme, (
        "README settings table is stale: run python scripts/settings_table.py --write"
    )
    from mapsvc.core.config import SETTINGS

    assert all(f"`MAPSVC_{s.name}`" in readme for s in SETTINGS)

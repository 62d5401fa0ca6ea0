"""The taxonomy file covers DESIGN.md sections 3-4 and is validated completely on load."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, run_cli

from mapsvc.core.errors import InvalidLayerDefinition
from mapsvc.core.taxonomy import load_taxonomy

LAYERS = ROOT / "layers"

# DESIGN.md section 3 (minimum provider types)
DESIGN_TYPES = {
    "hospital",
    "clinic",
    "dental_clinic",
    "pharmacy",
    "home_nursing",
    "home_rehab",
    "care_management",
    "home_help",
    "day_care",
    "multi_function",
    "periodic_visit",
    "night_home_help",
    "residential",
    "community_support_center",
    "coordination_desk",
}
# DESIGN.md section 4, one key per item of the table
DESIGN_CAPABILITIES = {
    "response_24h",
    "night_response",
    "emergency_visit",
    "holiday_response",
    "terminal_care",
    "home_death_care",
    "opioid_management",
    "ventilator",
    "tracheostomy_suction",
    "home_oxygen",
    "central_venous_nutrition",
    "tube_feeding",
    "stoma",
    "indwelling_catheter",
    "insulin",
    "wound_care",
    "peritoneal_dialysis",
    "children",
    "intractable_disease",
    "psychiatric",
    "dementia",
    "disability",
    "terminal_cancer",
    "home_visit_medical",
    "on_call_visit",
    "home_dental",
    "oral_care",
    "home_pharmacy_visit",
    "home_rehabilitation",
    "narcotics_licence",
    "sterile_compounding",
    "enteral_nutrition_supply",
    "infusion_supply",
    "sanitary_materials",
    "tablet_crushing",
    "home_care_support_clinic",
    "home_care_support_hospital",
    "home_care_backup_hospital",
    "home_care_support_dental",
    "nursing_24h_addition",
    "enhanced_nursing_station",
    "home_pharmacy_registration",
    "contact_methods",
    "doctor_meeting_times",
    "care_conference",
    "opinion_letter",
    "notes_for_professions",
}


def test_covers_design_sections_3_and_4() -> None:
    tax = load_taxonomy(LAYERS)
    assert DESIGN_TYPES <= set(tax.provider_types)
    assert DESIGN_CAPABILITIES <= set(tax.capabilities)
    for cap in tax.capabilities.values():
        assert cap.label.ja and cap.label.en and cap.group in tax.groups
        assert set(cap.applies_to) <= set(tax.provider_types)
    assert tax.capabilities["ventilator"].audience == "professional"
    assert tax.capabilities["home_visit_medical"].audience == "public"
    assert tax.capabilities["contact_methods"].options["fax"].ja == "FAX"


def test_acceptance_levels_and_unknown_are_distinct() -> None:
    tax = load_taxonomy(LAYERS)
    assert [lv.label.ja for lv in tax.levels] == ["積極的受入", "受入", "要相談", "不可"]
    assert tax.parse_value("ventilator", "不明") == {"level": "unknown"}
    assert tax.level_label("unknown") != tax.level_label("no")
    # unknown never satisfies a filter, not even the weakest
    assert not tax.offers("ventilator", {"level": "unknown"}, "consult")
    assert not tax.offers("ventilator", {"level": "no"}, "consult")
    assert tax.offers("ventilator", {"level": "active"}, "accept")
    assert not tax.offers("ventilator", {"level": "consult"}, "accept")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("受入", "accept"),
        ("○", "accept"),
        ("積極的受入", "active"),
        ("△", "consult"),
        ("×", "no"),
        ("ＹＥＳ", "accept"),
    ],
)
def test_parse_level_words(raw: str, expected: str) -> None:
    assert load_taxonomy(LAYERS).parse_value("ventilator", raw) == {"level": expected}


def test_parse_refuses_unknown_values() -> None:
    tax = load_taxonomy(LAYERS)
    with pytest.raises(ValueError, match="not an acceptance level for ventilator"):
        tax.parse_value("ventilator", "たぶん")
    with pytest.raises(ValueError, match="not an option of contact_methods"):
        tax.parse_value("contact_methods", "伝書鳩")
    assert tax.parse_value("contact_methods", "FAX、電話") == {"value": ["fax", "phone"]}


def _broken_copy(tmp_path: Path, mutate) -> Path:
    folder = tmp_path / "layers"
    shutil.copytree(LAYERS, folder)
    data = yaml.safe_load((folder / "taxonomy.yaml").read_text(encoding="utf-8"))
    mutate(data)
    (folder / "taxonomy.yaml").write_text(
        yaml.safe_dump(data, allow_unicode=True), encoding="utf-8"
    )
    return folder


def test_broken_taxonomy_names_file_key_and_problem(tmp_path: Path) -> None:
    def mutate(data: dict) -> None:
        data["capabilities"]["ventilator"]["applies_to"].append("spaceport")
        data["capabilities"]["stoma"]["kind"] = "maybe"
        del data["capabilities"]["insulin"]["en"]

    folder = _broken_copy(tmp_path, mutate)
    with pytest.raises(InvalidLayerDefinition) as info:
        load_taxonomy(folder)
    message = info.value.message
    assert str(folder / "taxonomy.yaml") in message
    assert "capabilities.ventilator.applies_to: unknown provider type 'spaceport'" in message
    assert "capabilities.stoma.kind" in message and "'maybe'" in message
    assert "capabilities.insulin: missing label 'en'" in message


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "layers"
    shutil.copytree(LAYERS, folder)
    text = (folder / "taxonomy.yaml").read_text(encoding="utf-8")
    text = text.replace("  stoma:\n", "  insulin:\n", 1)
    (folder / "taxonomy.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(InvalidLayerDefinition, match="duplicate key 'insulin'"):
        load_taxonomy(folder)


def test_broken_taxonomy_stops_app_start_up(tmp_path: Path, sqlite_services) -> None:
    from conftest import make_app

    folder = _broken_copy(tmp_path, lambda d: d["provider_types"]["clinic"].pop("ja"))
    with pytest.raises(InvalidLayerDefinition, match="provider_types.clinic: missing label 'ja'"):
        make_app(sqlite_services, LAYERS_DIR=str(folder))


def test_layers_validate_command(tmp_path: Path, runner, sqlite_services) -> None:
    ok = run_cli(runner, sqlite_services, "layers", "validate", str(LAYERS))
    assert ok.exit_code == 0 and "taxonomy ok" in ok.output
    folder = _broken_copy(
        tmp_path, lambda d: d["capabilities"]["ventilator"].update(audience="everyone")
    )
    bad = run_cli(runner, sqlite_services, "layers", "validate", str(folder))
    assert bad.exit_code != 0
    assert "capabilities.ventilator.audience" in bad.output


def test_layer_with_professional_filter_must_not_be_public(tmp_path: Path) -> None:
    from mapsvc.core.layers import load_layers

    folder = tmp_path / "layers"
    shutil.copytree(LAYERS, folder)
    (folder / "collections" / "leak.yaml").write_text(
        "id: leak\ntitle: {ja: 漏れ, en: Leak}\nprovider_types: [home_nursing]\n"
        "filter:\n  - {capability: ventilator, min_level: accept}\naudience: public\n",
        encoding="utf-8",
    )
    with pytest.raises(
        InvalidLayerDefinition,
        match="leak.yaml: filter\\[0\\].capability: ventilator is professional-only",
    ):
        load_layers(folder, load_taxonomy(folder))

"""Realistic capability answers for demo providers, by provider type and role.

Answers are drawn from weights over ``active, accept, consult, no, unknown`` and "not
answered" (an empty cell). The mixes follow what the programme documents and surveys
describe: few clinics offer 24-hour response (those registered as 在宅療養支援診療所 do),
a handful of home-nursing stations take ventilator patients, most pharmacies hold a
narcotics licence, and a tenth of providers never answered the survey at all.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mapsvc.core.taxonomy import Taxonomy

LEVELS = ("active", "accept", "consult", "no", "unknown", "")
FLAGS = ("yes", "no", "unknown", "")


def w(
    active: float,
    accept: float,
    consult: float,
    no: float,
    unknown: float = 0.03,
    blank: float = 0.07,
) -> tuple[float, ...]:
    """Weights over :data:`LEVELS` (normalised when drawn)."""
    return (active, accept, consult, no, unknown, blank)


DEFAULT = w(0.04, 0.25, 0.3, 0.2, 0.06, 0.15)
OUTPATIENT = w(0.0, 0.02, 0.08, 0.55, 0.1, 0.25)
# types that give medical care themselves; the taxonomy also asks other types (pharmacies,
# care offices, residential homes) whether they take patients needing these (issue 14)
MEDICAL_TYPES = frozenset({"hospital", "clinic", "home_nursing", "home_rehab"})
PROCEDURES = (
    "tracheostomy_suction",
    "home_oxygen",
    "central_venous_nutrition",
    "tube_feeding",
    "stoma",
    "indwelling_catheter",
    "insulin",
    "wound_care",
)
MEDICAL_CARE = frozenset({"ventilator", *PROCEDURES})

# clinic roles: share, then the weights of the capabilities that set them apart
CLINIC_ROLES: dict[str, tuple[float, dict[str, tuple[float, ...]]]] = {
    "home_care": (
        0.12,
        {
            "response_24h": w(0.5, 0.47, 0.0, 0.0, 0.0, 0.03),
            "night_response": w(0.3, 0.5, 0.15, 0.0),
            "emergency_visit": w(0.3, 0.55, 0.1, 0.0),
            "holiday_response": w(0.2, 0.4, 0.3, 0.05),
            "home_visit_medical": w(0.7, 0.3, 0.0, 0.0, 0.0, 0.0),
            "on_call_visit": w(0.5, 0.45, 0.05, 0.0, 0.0, 0.0),
            "terminal_care": w(0.45, 0.45, 0.05, 0.0),
            "home_death_care": w(0.45, 0.45, 0.05, 0.0),
            "opioid_management": w(0.3, 0.5, 0.15, 0.0),
            "ventilator": w(0.05, 0.25, 0.4, 0.25),
            "terminal_cancer": w(0.4, 0.5, 0.05, 0.0),
            "dementia": w(0.3, 0.55, 0.1, 0.0),
            "children": w(0.02, 0.1, 0.3, 0.5),
            "care_conference": w(0.4, 0.5, 0.1, 0.0),
            "opinion_letter": w(0.5, 0.45, 0.05, 0.0),
            "*procedures": w(0.1, 0.5, 0.3, 0.05),
        },
    ),
    "visiting": (
        0.18,
        {
            "response_24h": w(0.0, 0.08, 0.3, 0.5, 0.05, 0.07),
            "night_response": w(0.0, 0.1, 0.35, 0.45),
            "emergency_visit": w(0.05, 0.3, 0.4, 0.2),
            "home_visit_medical": w(0.1, 0.5, 0.4, 0.0, 0.0, 0.0),
            "on_call_visit": w(0.05, 0.4, 0.45, 0.1),
            "terminal_care": w(0.05, 0.3, 0.45, 0.15),
            "home_death_care": w(0.05, 0.25, 0.45, 0.2),
            "ventilator": w(0.0, 0.03, 0.25, 0.6),
            "*procedures": w(0.02, 0.3, 0.4, 0.2),
        },
    ),
    "outpatient": (
        0.70,
        {
            "response_24h": w(0.0, 0.0, 0.03, 0.75, 0.08, 0.14),
            "night_response": w(0.0, 0.02, 0.05, 0.7, 0.08, 0.15),
            "home_visit_medical": w(0.0, 0.0, 0.1, 0.6, 0.1, 0.2),
            "on_call_visit": w(0.0, 0.03, 0.15, 0.55, 0.1, 0.17),
            "ventilator": w(0.0, 0.0, 0.02, 0.6, 0.1, 0.28),
            "*procedures": OUTPATIENT,
            "*": OUTPATIENT,
        },
    ),
}

# other types: capability -> weights; "*" = every other applicable level capability
TYPE_PROFILES: dict[str, dict[str, tuple[float, ...]]] = {
    "hospital": {
        "response_24h": w(0.6, 0.35, 0.05, 0.0, 0.0, 0.0),
        "night_response": w(0.5, 0.45, 0.05, 0.0, 0.0, 0.0),
        "home_visit_medical": w(0.1, 0.3, 0.3, 0.3),
        "*procedures": w(0.2, 0.6, 0.15, 0.02),
        "*": w(0.15, 0.45, 0.25, 0.08),
    },
    "dental_clinic": {
        "home_dental": w(0.08, 0.25, 0.25, 0.3),
        "oral_care": w(0.08, 0.3, 0.25, 0.25),
        "night_response": w(0.0, 0.0, 0.05, 0.75),
        "*": w(0.0, 0.05, 0.2, 0.45, 0.1, 0.2),
    },
    "pharmacy": {
        "home_pharmacy_visit": w(0.15, 0.45, 0.2, 0.15),
        "response_24h": w(0.05, 0.1, 0.15, 0.55, 0.05, 0.1),
        "night_response": w(0.05, 0.15, 0.2, 0.5),
        "sterile_compounding": w(0.0, 0.02, 0.1, 0.5, 0.1, 0.28),
        "opioid_management": w(0.2, 0.5, 0.15, 0.1),
        "*": w(0.1, 0.5, 0.2, 0.1, 0.05, 0.05),
    },
    "home_nursing": {
        "response_24h": w(0.35, 0.4, 0.1, 0.1, 0.0, 0.05),
        "terminal_care": w(0.35, 0.45, 0.1, 0.05),
        "home_death_care": w(0.3, 0.45, 0.15, 0.05),
        "ventilator": w(0.0, 0.0, 0.3, 0.45, 0.1, 0.15),
        "children": w(0.0, 0.05, 0.25, 0.5),
        "psychiatric": w(0.05, 0.2, 0.3, 0.3),
        "*procedures": w(0.2, 0.6, 0.12, 0.03),
        "*": w(0.15, 0.5, 0.2, 0.08),
    },
    "periodic_visit": {
        "response_24h": w(0.7, 0.3, 0.0, 0.0, 0.0, 0.0),
        "night_response": w(0.7, 0.3, 0.0, 0.0, 0.0, 0.0),
    },
    "night_home_help": {"night_response": w(0.8, 0.2, 0.0, 0.0, 0.0, 0.0)},
    "multi_function": {
        "response_24h": w(0.4, 0.55, 0.05, 0.0, 0.0, 0.0),
        "ventilator": w(0.0, 0.02, 0.2, 0.6),
    },
    "residential": {
        "home_death_care": w(0.15, 0.35, 0.3, 0.15),
        "terminal_care": w(0.1, 0.35, 0.3, 0.2),
        "ventilator": w(0.0, 0.02, 0.15, 0.7),
        "dementia": w(0.3, 0.55, 0.1, 0.03),
    },
    "day_care": {"ventilator": w(0.0, 0.0, 0.1, 0.75), "dementia": w(0.2, 0.6, 0.15, 0.03)},
}

# flags and choices: type -> capability -> (value, probability) pairs
CHOICES: dict[str, dict[str, tuple[tuple[str, float], ...]]] = {
    "pharmacy": {
        "narcotics_licence": (("yes", 0.75), ("no", 0.15), ("", 0.1)),
        "home_pharmacy_registration": (("yes", 0.6), ("no", 0.25), ("unknown", 0.05), ("", 0.1)),
    },
    "dental_clinic": {"home_care_support_dental": (("yes", 0.15), ("no", 0.6), ("", 0.25))},
    "home_nursing": {
        "nursing_24h_addition": (("yes", 0.7), ("no", 0.2), ("", 0.1)),
        "nursing_emergency_addition": (("yes", 0.65), ("no", 0.2), ("", 0.15)),
        "enhanced_nursing_station": (("", 0.9), ("type2", 0.05), ("type3", 0.05)),
    },
    "clinic": {"dementia_support_doctor": (("yes", 0.08), ("no", 0.5), ("", 0.42))},
    "hospital": {
        "home_care_backup_hospital": (("yes", 0.15), ("no", 0.6), ("", 0.25)),
        "dementia_support_doctor": (("yes", 0.3), ("no", 0.4), ("", 0.3)),
    },
}
CONTACT_METHODS = ("phone", "fax", "meeting", "email", "visit_accompany", "outpatient_accompany")
MEETING_TIMES = ("平日 13:00-14:00", "火・木 12:30-13:30", "診療後 18:30以降（要予約）", "水曜午後")
NOTES = (
    "退院前カンファレンスにはオンラインで参加できます（デモ）",
    "新規依頼はまずFAXで情報提供書をお送りください（デモ）",
    "土日の連絡は翌営業日の対応になります（デモ）",
    "看取りの方針は初回面談で確認します（デモ）",
)


def _draw(rng: np.random.Generator, values: tuple[str, ...], weights: tuple[float, ...]) -> str:
    p = np.asarray(weights, dtype=float)
    return str(values[int(rng.choice(len(values), p=p / p.sum()))])


def answers(
    rng: np.random.Generator,
    taxonomy: Taxonomy,
    type_key: str,
    role: str | None = None,
    surveyed: bool = True,
) -> dict[str, str]:
    """Cell values for every capability column (empty string = not answered)."""
    out: dict[str, str] = {}
    if not surveyed:
        return out
    profile = TYPE_PROFILES.get(type_key, {})
    if type_key == "clinic":
        profile = CLINIC_ROLES[role or "outpatient"][1]
    for key, cap in taxonomy.capabilities.items():
        if type_key not in cap.applies_to:
            continue
        if cap.kind == "level":
            weights = profile.get(key)
            if weights is None and key in PROCEDURES:
                weights = profile.get("*procedures")
            if weights is None and key in MEDICAL_CARE and type_key not in MEDICAL_TYPES:
                # a pharmacy or care office "accepting" a ventilator patient is the exception
                weights = OUTPATIENT
            out[key] = _draw(rng, LEVELS, weights or profile.get("*", DEFAULT))
        elif cap.kind in ("flag", "choice"):
            pairs = CHOICES.get(type_key, {}).get(key)
            if pairs is None:
                pairs = (("no", 0.5), ("", 0.5)) if cap.kind == "flag" else (("", 1.0),)
            values, weights = zip(*pairs, strict=True)
            out[key] = _draw(rng, values, weights)
        elif cap.kind == "ranked":
            if rng.random() < 0.6:
                n = int(rng.integers(1, 4))
                picked = rng.choice(len(CONTACT_METHODS), size=n, replace=False)
                out[key] = ",".join(CONTACT_METHODS[i] for i in picked)
        elif key == "doctor_meeting_times" and rng.random() < 0.4:
            out[key] = MEETING_TIMES[int(rng.integers(len(MEETING_TIMES)))]
        elif key == "notes_for_professions" and rng.random() < 0.2:
            out[key] = NOTES[int(rng.integers(len(NOTES)))]
    return out


def clinic_role(rng: np.random.Generator) -> str:
    roles = list(CLINIC_ROLES)
    return _draw(rng, tuple(roles), tuple(CLINIC_ROLES[r][0] for r in roles))


def home_care_registration(rng: np.random.Generator, role: str) -> str:
    """在宅療養支援診療所 registration of a clinic, consistent with its role."""
    if role == "home_care":
        return _draw(rng, ("enhanced_single", "enhanced_linked", "conventional"), (0.15, 0.35, 0.5))
    if role == "visiting":
        return _draw(rng, ("conventional", ""), (0.25, 0.75))
    return ""


def make_ventilator_station(rng: np.random.Generator, cells: dict[str, Any]) -> None:
    """Turn a home-nursing station's answers into a ventilator-capable station's."""
    cells["ventilator"] = _draw(rng, ("active", "accept"), (0.5, 0.5))
    cells["tracheostomy_suction"] = "active"
    cells["response_24h"] = "active"
    cells["nursing_24h_addition"] = "yes"
    cells["enhanced_nursing_station"] = _draw(rng, ("type1", "type2"), (0.6, 0.4))
    cells["children"] = _draw(rng, ("accept", "consult"), (0.5, 0.5))
    cells["intractable_disease"] = "active"

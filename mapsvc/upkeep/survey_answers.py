"""What a provider's survey answers may say, and the submission they make.

The answers structure is described in :mod:`mapsvc.upkeep.survey_form` (which builds the
form and reads it back). :func:`validate_answers` refuses unknown parts and capabilities,
capabilities that do not apply to the provider's type and out-of-range values, naming the
field (the name of the input it belongs to); :func:`build_payload` turns valid answers into a
submission payload: the changes against the current record, and the values they replace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mapsvc.core.codes import nfkc
from mapsvc.core.errors import InvalidInput
from mapsvc.core.registry import diff, jsonable
from mapsvc.core.taxonomy import UNKNOWN, Capability, Taxonomy
from mapsvc.geo.drawn import checked_geojson

TOP_KEYS = ("fields", "capabilities", "service_area", "respondent", "comment")
AREA_KINDS = ("keep", "default", "radius", "travel_time", "codes", "polygon")
MAX_RADIUS_KM = 50.0
MAX_TRAVEL_MINUTES = 120.0
MAX_NOTE = 1000
MAX_TEXT = 2000


@dataclass(frozen=True)
class SurveyField:
    """A provider field the provider may update: input kind and length limit."""

    key: str
    input: str  # tel | url | email | text | textarea
    max_length: int


SURVEY_FIELDS: dict[str, SurveyField] = {
    f.key: f
    for f in (
        SurveyField("phone", "tel", 200),
        SurveyField("url", "url", 500),
        SurveyField("hours", "textarea", 1000),
        SurveyField("fax", "tel", 100),
        SurveyField("phone_direct", "tel", 100),
        SurveyField("email", "email", 200),
        SurveyField("contact_person", "text", 200),
        SurveyField("contact_hours", "textarea", 1000),
        SurveyField("notes_professional", "textarea", 2000),
    )
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^https?://[^\s]+$")
_AREA_CODE = re.compile(r"^[0-9A-Za-z_:\-]{1,64}$")


def applicable(taxonomy: Taxonomy, provider_type: str) -> dict[str, Capability]:
    return {k: c for k, c in taxonomy.capabilities.items() if provider_type in c.applies_to}


def _text(value: Any, name: str, limit: int, errors: dict[str, str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | int | float):
        errors[name] = "expected text"
        return None
    # NFKC like the importer, so a value round-trips through a survey template unchanged
    text = nfkc(str(value))
    if len(text) > limit:
        errors[name] = (
            f"{limit}文字以内で入力してください / too long: {len(text)} characters, at most {limit}"
        )
        return None
    return text or None


def _number(value: Any, name: str, low: float, high: float, errors: dict[str, str]) -> float | None:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        errors[name] = f"数字で入力してください / {value!r} is not a number"
        return None
    if not low < number <= high:
        errors[name] = (
            f"{low:g}より大きく{high:g}以下で入力してください / "
            f"{number:g} is out of range; expected more than {low:g} and at most {high:g}"
        )
        return None
    return number


def _capability(
    taxonomy: Taxonomy, cap: Capability, value: Any, name: str, errors: dict[str, str]
) -> tuple[bool, dict[str, Any] | None]:
    """(valid, stored value) for one capability answer."""
    if value is None:
        return True, None
    if not isinstance(value, Mapping):
        errors[name] = 'expected {"level": ...} or {"value": ...}'
        return False, None
    note = _text(value.get("note"), f"{name}.note", MAX_NOTE, errors)
    unknown_keys = set(value) - {"level", "value", "note"}
    if unknown_keys:
        errors[name] = f"unknown key(s) {sorted(unknown_keys)}; expected level or value, and note"
        return False, None
    result: dict[str, Any]
    if cap.kind in ("level", "flag"):
        allowed = (
            [lv.key for lv in taxonomy.levels] + [UNKNOWN]
            if cap.kind == "level"
            else ["yes", "no", UNKNOWN]
        )
        level = value.get("level")
        if level in (None, ""):
            level = UNKNOWN
        if level not in allowed:
            labels = "、".join(taxonomy.level_label(a) for a in allowed)
            errors[name] = f"{level!r} is not one of {', '.join(allowed)} ({labels})"
            return False, None
        result = {"level": level}
    elif cap.kind == "choice":
        option = value.get("value")
        if option in (None, ""):
            return True, None
        if option not in cap.options:
            errors[name] = f"{option!r} is not an option; expected one of {', '.join(cap.options)}"
            return False, None
        result = {"value": option}
    elif cap.kind == "ranked":
        items = value.get("value") or []
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            errors[name] = "expected a list of options in order of preference"
            return False, None
        bad = [i for i in items if i not in cap.options]
        if bad:
            errors[name] = f"{bad[0]!r} is not an option; expected some of {', '.join(cap.options)}"
            return False, None
        if len(set(items)) != len(items):
            errors[name] = "an option is listed twice"
            return False, None
        if not items:
            return True, None
        result = {"value": list(items)}
    else:
        text = _text(value.get("value"), name, MAX_TEXT, errors)
        if text is None:
            return name not in errors, None
        result = {"value": text}
    if note:
        result["note"] = note
    return True, result


def _service_area(area: Any, errors: dict[str, str]) -> tuple[bool, dict[str, Any] | None]:
    """(present, stored area); present False = keep the current area."""
    if not area:
        return False, None
    if not isinstance(area, Mapping):
        errors["service_area"] = "expected an object with kind"
        return False, None
    kind = area.get("kind") or "keep"
    if kind not in AREA_KINDS:
        errors["service_area.kind"] = f"{kind!r} is not one of {', '.join(AREA_KINDS)}"
        return False, None
    if kind == "keep":
        return False, None
    if kind == "default":
        return True, None
    if kind == "radius":
        km = _number(area.get("km"), "service_area.km", 0, MAX_RADIUS_KM, errors)
        return km is not None, {"kind": "radius", "km": km}
    if kind == "travel_time":
        minutes = _number(
            area.get("minutes"), "service_area.minutes", 0, MAX_TRAVEL_MINUTES, errors
        )
        return minutes is not None, {"kind": "travel_time", "minutes": minutes}
    if kind == "polygon":  # drawn on the form's map (mapsvc.geo.drawn checks it)
        try:
            return True, {
                "kind": "polygon",
                "geometry": checked_geojson(area.get("geometry"), "service_area.geometry"),
            }
        except InvalidInput as exc:
            errors["service_area.geometry"] = exc.message
            return False, None
    codes = area.get("codes") or []
    if isinstance(codes, str):
        codes = [c for c in re.split(r"[,;、，\s]+", codes) if c]
    if not isinstance(codes, list) or not codes:
        errors["service_area.codes"] = (
            "地域コードを1つ以上入力してください / enter at least one area code"
        )
        return False, None
    bad = [c for c in codes if not isinstance(c, str) or not _AREA_CODE.match(c)]
    if bad:
        errors["service_area.codes"] = f"{bad[0]!r} is not an area code (letters, digits, - _ :)"
        return False, None
    return True, {"kind": "codes", "codes": list(dict.fromkeys(codes))}


def validate_answers(
    taxonomy: Taxonomy, provider_type: str, answers: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    """Check answers for one provider type; return the incoming record values and errors.

    Parameters
    ----------
    taxonomy
        The loaded taxonomy.
    provider_type
        The provider's type (decides which capabilities apply).
    answers
        The answers structure (module docstring).

    Returns
    -------
    incoming, errors
        ``incoming`` holds record fields, ``capabilities`` and (unless kept)
        ``service_area``, ready for :func:`mapsvc.core.registry.diff`. ``errors`` maps each bad
        input's name (``capabilities.ventilator``, ``service_area.km``,
        ``respondent.name`` …) to a message; empty when everything is valid.
    """
    errors: dict[str, str] = {}
    if not isinstance(answers, Mapping):
        return {}, {"answers": "expected an object"}
    for key in answers:
        if key not in TOP_KEYS:
            errors[str(key)] = f"unknown part {key!r}; expected {', '.join(TOP_KEYS)}"
    incoming: dict[str, Any] = {}
    fields = answers.get("fields") or {}
    for key, value in fields.items() if isinstance(fields, Mapping) else ():
        name = f"fields.{key}"
        spec = SURVEY_FIELDS.get(key)
        if spec is None:
            errors[name] = (
                f"{key!r} is not a field providers can update; expected one of "
                + ", ".join(SURVEY_FIELDS)
            )
            continue
        text = _text(value, name, spec.max_length, errors)
        if text and spec.input == "email" and not _EMAIL.match(text):
            errors[name] = f"メールアドレスの形式ではありません / {text!r} is not an e-mail address"
        elif text and spec.input == "url" and not _URL.match(text):
            errors[name] = (
                "http:// か https:// で始まるアドレスを入力してください / a web address starts with http:// or https://"
            )
        elif text and spec.input == "tel" and sum(ch.isdigit() for ch in text) < 6:
            errors[name] = f"電話番号の形式ではありません / {text!r} is not a phone number"
        if name not in errors:
            incoming[key] = text
    caps_in = answers.get("capabilities") or {}
    caps: dict[str, Any] = {}
    allowed = applicable(taxonomy, provider_type)
    type_label = taxonomy.provider_types[provider_type].label.ja
    for key, value in caps_in.items() if isinstance(caps_in, Mapping) else ():
        name = f"capabilities.{key}"
        if key not in taxonomy.capabilities:
            errors[name] = f"この調査にない項目です / unknown capability {key!r}"
            continue
        if key not in allowed:
            errors[name] = (
                f"{taxonomy.capabilities[key].label.ja} ({key}) does not apply to {type_label}"
            )
            continue
        ok, stored = _capability(taxonomy, allowed[key], value, name, errors)
        if ok:
            caps[key] = stored
    incoming["capabilities"] = caps
    present, area = _service_area(answers.get("service_area"), errors)
    if present:
        incoming["service_area"] = area
    respondent = answers.get("respondent") or {}
    if not isinstance(respondent, Mapping):
        errors["respondent"] = "expected name and title"
        respondent = {}
    for part in ("name", "title"):
        text = _text(respondent.get(part), f"respondent.{part}", 100, errors)
        if not text and f"respondent.{part}" not in errors:
            errors[f"respondent.{part}"] = (
                "入力してください（確認した方の記録に使います） / required (who confirmed these answers)"
            )
    _text(answers.get("comment"), "comment", MAX_TEXT, errors)
    return incoming, errors


def build_payload(
    current: Mapping[str, Any], incoming: Mapping[str, Any], answers: Mapping[str, Any]
) -> dict[str, Any]:
    """The submission payload: changes against ``current`` and the values they replace.

    An answer of "unknown" (or no value) for a capability the record has no answer for is
    not a change. The payload keys are ``changes``, ``base`` (current values of the
    changed fields, used to refuse approving it over a newer change), ``respondent`` and
    ``comment``.
    """
    current_caps = current.get("capabilities") or {}
    caps = {}
    for key, value in (incoming.get("capabilities") or {}).items():
        if current_caps.get(key) is None and (value is None or value == {"level": UNKNOWN}):
            continue
        caps[key] = value
    values = {k: v for k, v in incoming.items() if k != "capabilities"}
    values["capabilities"] = caps
    before, after = diff(current, values)
    respondent = answers.get("respondent") or {}
    return {
        "changes": jsonable(after) or {},
        "base": jsonable(before) or {},
        "respondent": {
            "name": str(respondent.get("name") or "").strip(),
            "title": str(respondent.get("title") or "").strip(),
        },
        "comment": str(answers.get("comment") or "").strip(),
    }

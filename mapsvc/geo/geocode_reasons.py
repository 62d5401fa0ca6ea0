"""Why a provider is still "pending" (without a location), in words and codes.

Codes: ``no_coordinates`` (the file gave none), ``outside_japan`` (the file's coordinates
were (0, 0), outside Japan or swapped, and were dropped; kept in ``extra``),
``no_address``, ``no_gazetteer`` (GAZETTEER_FILES is empty), ``no_online_geocoder``,
``no_match`` (a geocoder answered but found nothing in Japan), ``geocoder_unreachable``
(an online geocoder failed: network, refusal, timeout) and ``placeable`` (a geocoder can
place it now: run ``mapsvc geocode``). An unreachable geocoder is tried once per run.
"""

from __future__ import annotations

from typing import Any

from geopy.exc import GeopyError

from mapsvc.core.codes import in_japan
from mapsvc.geo.geocode import GeocoderChain

Reason = tuple[str, str]


def diagnose(
    chain: GeocoderChain, address: str, unreachable: dict[str, str]
) -> tuple[dict[str, Any] | None, list[Reason]]:
    """Try each geocoder of the chain (no cache read or write); (first hit, what failed)."""
    notes: list[Reason] = []
    for name, geocoder in chain.steps:
        if name == "cache" or geocoder is None:
            continue
        if name in unreachable:
            notes.append(("geocoder_unreachable", f"{name} unreachable ({unreachable[name]})"))
            continue
        try:
            loc = geocoder.geocode(address)
        except (GeopyError, OSError, ValueError) as exc:
            unreachable[name] = (str(exc) or type(exc).__name__)[:120]
            notes.append(("geocoder_unreachable", f"{name} unreachable ({unreachable[name]})"))
            continue
        if loc is None:
            notes.append(("no_match", f"{name}: no match for the address"))
        elif not in_japan(loc.longitude, loc.latitude):
            notes.append(("no_match", f"{name}: its answer lies outside Japan"))
        else:
            return {"geocoder": name, "lon": loc.longitude, "lat": loc.latitude}, notes
    return None, notes


def pending_reasons(
    record: dict[str, Any], chain: GeocoderChain, unreachable: dict[str, str]
) -> list[Reason]:
    """Every reason ``record`` (``address``, ``extra``) has no location yet, in order."""
    reasons: list[Reason] = []
    dropped = (record.get("extra") or {}).get("dropped_coordinates")
    if dropped:
        reasons.append(("outside_japan", f"the file's coordinates were dropped ({dropped})"))
    else:
        reasons.append(("no_coordinates", "the file gives no coordinates"))
    if not (record.get("address") or "").strip():
        reasons.append(("no_address", "no address to geocode"))
        return reasons
    if "gazetteer" not in chain.names:
        reasons.append(("no_gazetteer", "no gazetteer configured (GAZETTEER_FILES)"))
    if not [n for n in chain.names if n not in ("cache", "gazetteer")]:
        reasons.append(("no_online_geocoder", "no online geocoder in the chain (GEOCODERS)"))
    found, notes = diagnose(chain, str(record["address"]), unreachable)
    reasons += notes
    if found:
        reasons.append(("placeable", f"{found['geocoder']} can place it now: run `mapsvc geocode`"))
    return reasons


def placement_counts(records: list[dict[str, Any]]) -> dict[str, int]:
    """How imported rows were placed: ``file`` (their own coordinates), ``gazetteer`` /
    another geocoder's name (placed from the address while importing), ``pending``, and
    ``dropped_coordinates`` (rows whose unusable coordinates were dropped)."""
    out = {"file": 0, "gazetteer": 0, "pending": 0, "dropped_coordinates": 0}
    for rec in records:
        status = rec.get("geocode_status")
        if status == "source":
            out["file"] += 1
        elif status == "geocoded":
            name = str(rec.get("geocoder") or "gazetteer")
            out[name] = out.get(name, 0) + 1
        elif status == "pending":
            out["pending"] += 1
        if (rec.get("extra") or {}).get("dropped_coordinates"):
            out["dropped_coordinates"] += 1
    return out

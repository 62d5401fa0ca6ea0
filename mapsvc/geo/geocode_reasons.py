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


class _Watched:
    """A chain step that notes its failures (network, refusal, timeout) before the chain
    moves on to the next step."""

    def __init__(self, geocoder: Any, name: str, failures: dict[str, str]) -> None:
        self.geocoder, self.name, self.failures = geocoder, name, failures

    def geocode(self, address: str, **kwargs: Any) -> Any:
        try:
            return self.geocoder.geocode(address, **kwargs)
        except (GeopyError, OSError, ValueError) as exc:
            self.failures.setdefault(self.name, (str(exc) or type(exc).__name__)[:120])
            raise


class ImportGeocoder:
    """The chain used while importing (GEOCODERS_ON_IMPORT) as ``geocode(address,
    session)``; it remembers which steps failed, so the import report can say why rows
    stay pending (:meth:`pending_reasons`)."""

    def __init__(self, chain: GeocoderChain) -> None:
        self.chain = chain
        self.failures: dict[str, str] = {}
        chain.steps = [
            (n, _Watched(g, n, self.failures) if g is not None else None) for n, g in chain.steps
        ]

    def __call__(self, address: str, session: Any) -> dict[str, Any] | None:
        return self.chain.geocode(address, session=session)

    def pending_reasons(self, records: list[dict[str, Any]]) -> dict[str, int]:
        """Why each written row still has no location, counted by reason."""
        return pending_counts(records, self.chain.names, self.failures)


def pending_counts(
    records: list[dict[str, Any]], names: list[str] | None, failures: dict[str, str]
) -> dict[str, int]:
    """Reason -> rows, for the rows of ``records`` left pending by an import whose chain had
    the steps ``names`` (None: no geocoder ran while importing) and ``failures``."""
    out: dict[str, int] = {}
    for rec in records:
        if rec.get("geocode_status") != "pending":
            continue
        if not (rec.get("address") or "").strip():
            why = "no address to place it from"
        elif names is None:
            why = "no geocoder runs while importing (GEOCODERS_ON_IMPORT is empty)"
        elif failures:
            why = "geocoder unreachable: " + "; ".join(f"{n} ({m})" for n, m in failures.items())
        elif "gazetteer" not in names:
            why = "no gazetteer configured (GAZETTEER_FILES): only `mapsvc geocode` can place it"
        else:
            why = "the gazetteer has no town matching the address"
        out[why] = out.get(why, 0) + 1
    return out

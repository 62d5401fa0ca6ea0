"""`mapsvc geocode`: locate providers that have no coordinates yet."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from mapsvc.core.services import Services


@click.command("geocode")
@click.option(
    "--pending",
    "list_pending",
    is_flag=True,
    help="Only list the providers still without a location.",
)
@click.option("--limit", type=int, default=None, help="Geocode at most this many providers.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--actor", default="cli", show_default=True, help="Name recorded in the audit log.")
@click.pass_obj
def geocode(
    services: Services, list_pending: bool, limit: int | None, as_json: bool, actor: str
) -> None:
    """Geocode providers without coordinates through the configured chain (MAPSVC_GEOCODERS).

    Rows that no geocoder can place stay "pending": they are never dropped and never put at
    a made-up point. Results are cached in the store with the geocoder and precision.
    """
    from sqlalchemy import select

    from mapsvc.core.models import Provider
    from mapsvc.core.registry import Change, apply_changes, provider_record
    from mapsvc.geo.geocode import build_chain

    services.store.upgrade()
    with services.store.session() as session:
        stmt = select(Provider).where(Provider.geocode_status == "pending").order_by(Provider.id)
        pending = list(session.scalars(stmt))
        chain = build_chain(services.config["GEOCODERS"], services.config)
        if list_pending:
            from mapsvc.geo.geocode_reasons import pending_reasons

            unreachable: dict[str, str] = {}
            rows = []
            for p in pending:
                reasons = pending_reasons(
                    {"address": p.address, "extra": p.extra}, chain, unreachable
                )
                rows.append(
                    {
                        "id": p.uid,
                        "source": p.source,
                        "source_id": p.source_id,
                        "name": p.name,
                        "address": p.address,
                        "reasons": [code for code, _ in reasons],
                        "why": "; ".join(text for _, text in reasons),
                    }
                )
            if as_json:
                click.echo(json.dumps(rows, ensure_ascii=False))
            else:
                for r in rows:
                    click.echo(f"{r['id']}  {r['name']}  {r['address'] or '(no address)'}")
                    click.echo(f"    why: {r['why']}")
                click.echo(f"{len(rows)} provider(s) not geocoded")
            return
        changes: list[Change] = []
        for p in pending[:limit] if limit else pending:
            if not p.address:
                continue
            found = chain.geocode(p.address, session=session)
            if not found:
                continue
            current = provider_record(p)
            after = {
                "lon": found["lon"],
                "lat": found["lat"],
                "geocode_status": "geocoded",
                "geocoder": found["geocoder"],
                "geocode_precision": found["precision"],
            }
            before = {k: current.get(k) for k in after}
            changes.append(Change(p.id, p.uid, before, after, current))
        apply_changes(session, changes, actor=actor, action="geocode")
        result = {
            "geocoded": len(changes),
            "pending": len(pending) - len(changes),
            "chain": chain.names,
        }
    if as_json:
        click.echo(json.dumps(result))
    else:
        click.echo(
            f"geocoded {result['geocoded']}, still pending {result['pending']} (chain: {', '.join(chain.names)})"
        )


COMMANDS = [geocode]

"""`mapsvc network ...`: import and list road networks (local OSM XML or GraphML)."""

from __future__ import annotations

from pathlib import Path

import click

from mapsvc.core.services import Services


@click.group("network")
def network() -> None:
    """Road networks for travel-time service areas (no download; local files only)."""


@network.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--name",
    default="default",
    show_default=True,
    help="Network name; saved as <instance>/networks/<name>.graphml (same name = replace).",
)
@click.pass_obj
def network_import(services: Services, file: Path, name: str) -> None:
    """Import FILE (.osm, .osm.bz2, .osm.gz, .xml or osmnx .graphml) and make it active.

    Only drivable roads are kept; edges get speed_kph (maxspeed, else a default per
    highway class, see NETWORK_SPEEDS) and travel_time in seconds.
    """
    from mapsvc.geo.network import import_network

    services.store.upgrade()
    row = import_network(services, file, name=name)
    click.echo(
        f"network {row.name}: {row.nodes} nodes, {row.edges} edges, saved to "
        f"{services.instance_path / row.path}, signature {row.signature[:12]} (active)"
    )


@network.command("list")
@click.pass_obj
def network_list(services: Services) -> None:
    """List registered road networks (the active one is marked with *)."""
    from mapsvc.geo.network import list_networks

    services.store.upgrade()
    with services.store.session() as session:
        rows = list_networks(session)
    if not rows:
        click.echo("no road network registered; use `mapsvc network import FILE`")
        return
    for r in rows:
        mark = "*" if r.active else " "
        click.echo(
            f"{mark} {r.name:20} {r.nodes:>8} nodes {r.edges:>8} edges  "
            f"{r.imported_at:%Y-%m-%d %H:%M}  {r.signature[:12]}  {r.source_file or ''}"
        )


COMMANDS = [network]

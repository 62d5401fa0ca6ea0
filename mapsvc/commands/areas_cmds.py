"""`mapsvc areas ...`: load and list area boundaries (municipality, 日常生活圏域, town, ...)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from mapsvc.core.services import Services

# = mapsvc.geo.areas.AREA_KINDS (tests/test_cli_startup.py holds them equal); spelled out
# here so `mapsvc --help` does not import geopandas
AREA_KINDS = ("municipality", "daily_life_area", "town", "secondary_medical_area", "custom")


@click.group("areas")
def areas() -> None:
    """Area boundaries used for indicators, coverage and "which centre covers me"."""


@areas.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--kind", type=click.Choice(AREA_KINDS), required=True, help="What the areas are.")
@click.option("--code-field", help="Property with the area code (default: N03_007 or code).")
@click.option("--name-field", help="Property with the area name (default: N03_004 or name).")
@click.option("--parent-field", help="Property with the parent area's code (optional).")
@click.option(
    "--municipality-code",
    help="kind=municipality: load only this one; other kinds: the municipality they belong to.",
)
@click.option("--repair", is_flag=True, help="Repair invalid polygons instead of refusing them.")
@click.pass_obj
def areas_import(
    services: Services,
    file: Path,
    kind: str,
    code_field: str | None,
    name_field: str | None,
    parent_field: str | None,
    municipality_code: str | None,
    repair: bool,
) -> None:
    """Load areas from FILE (GeoJSON in lon/lat; GeoPackage/Shapefile with a CRS).

    Upserts by kind and code; features with the same code are merged. Every geometry
    must be a valid polygon inside Japan, otherwise nothing is loaded.
    """
    from mapsvc.geo.areas import load_areas

    services.store.upgrade()
    result = load_areas(
        services,
        file,
        kind,
        code_field,
        name_field,
        parent_field=parent_field,
        municipality_code=municipality_code,
        repair=repair,
    )
    click.echo(f"{file}: {result.loaded} {kind} areas loaded")
    for number, why in result.skipped:
        click.echo(f"{file}: feature {number} skipped: {why}")


@areas.command("list")
@click.pass_obj
def areas_list(services: Services) -> None:
    """Count the loaded areas by kind."""
    from sqlalchemy import func, select

    from mapsvc.core.models import Area

    services.store.upgrade()
    with services.store.session() as session:
        rows = session.execute(
            select(Area.kind, func.count()).group_by(Area.kind).order_by(Area.kind)
        ).all()
    if not rows:
        click.echo("no areas loaded; use `mapsvc areas import FILE --kind KIND`")
    for kind, count in rows:
        click.echo(f"{kind:24} {count}")


COMMANDS = [areas]

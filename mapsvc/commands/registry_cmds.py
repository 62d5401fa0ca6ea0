"""Registry commands: init-db, import, layers validate."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mapsvc.core.errors import InvalidLayerDefinition
from mapsvc.core.services import Services


@click.command("init-db")
@click.pass_obj
def init_db(services: Services) -> None:
    """Create or upgrade the store schema (Alembic migrations) at MAPSVC_DATABASE_URL."""
    services.store.upgrade()
    click.echo(f"store ready: {services.store.engine.url.render_as_string(hide_password=True)}")


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    metavar="NAME",
    help="A shipped format (see `mapsvc formats`); default: detected from the header.",
)
@click.option(
    "--mapping",
    "mapping_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Your own mapping file (YAML) for a municipality-specific schema.",
)
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write rejected rows (default: <file>.rejects.csv beside the input).",
)
@click.option("--source", help="Source namespace for the rows' ids (default: the format's).")
@click.option("--actor", default="cli", show_default=True, help="Name recorded in the audit log.")
@click.option(
    "--review",
    is_flag=True,
    help="Returned survey templates: queue each row for review instead of changing the registry.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print one JSON object: inserted, updated, unchanged, rejected, rows.",
)
@click.pass_obj
def import_cmd(
    services: Services,
    file: Path,
    fmt: str | None,
    mapping_path: Path | None,
    rejects_path: Path | None,
    source: str | None,
    actor: str,
    review: bool,
    as_json: bool,
) -> None:
    """Import a provider list (CSV, GeoJSON or XLSX) into the registry.

    Upserts by source id: a second import of the same file changes nothing. Rows that
    cannot be imported are written to a rejects CSV with their reason. A file that cannot
    be read at all stops with a message and leaves the store unchanged. With --review
    (filled survey templates) rows go to the editor's review queue, not the registry.
    """
    from mapsvc.geo.geocode import import_geocoder
    from mapsvc.ingest.importer import import_file
    from mapsvc.upkeep.returns import TEMPLATE_RETURNS

    services.store.upgrade()
    geocode = import_geocoder(services)
    report = import_file(
        services.store,
        file,
        services.taxonomy,
        fmt=fmt,
        mapping_path=mapping_path,
        rejects_path=rejects_path,
        actor=actor,
        source=source,
        geocode=geocode,
        instance_path=services.instance_path,
        review=TEMPLATE_RETURNS if review else None,
    )
    if as_json:
        summary = report.json()
        extra = {"queued": report.queued, "untouched": report.untouched} if review else {}
        click.echo(json.dumps({**summary, **extra}, ensure_ascii=False))
        return
    if review:
        click.echo(
            f"{file}: format {report.format}, {report.rows} rows: {report.queued} queued for "
            f"review, {report.untouched} untouched (nobody changed or signed them), "
            f"{report.rejected} rejected; nothing was changed in the registry"
        )
        if report.rejects_path:
            click.echo(f"rejected rows with reasons: {report.rejects_path}")
        return
    click.echo(
        f"{file}: format {report.format}, source {report.source}, {report.rows} rows: "
        f"{report.inserted} inserted, {report.updated} updated, {report.unchanged} unchanged, "
        f"{report.rejected} rejected"
    )
    if report.rejects_path:
        click.echo(f"rejected rows with reasons: {report.rejects_path}")
    for reason, count in report.warnings.items():
        click.echo(f"warning: {count} × {reason}")
    for warning in report.area_warnings:
        click.echo(f"warning: {warning}")
    if report.placed:
        parts = [f"{n} {how}" for how, n in report.placed.items() if n]
        click.echo(f"placed: {', '.join(parts) or 'nothing written'}")
    if report.pending_geocode:
        click.echo(
            f"{report.pending_geocode} rows have no location yet; run `mapsvc geocode` (list: `mapsvc geocode --pending`)"
        )
    for reason, count in report.pending_reasons.items():
        click.echo(f"pending: {count} × {reason}")


@click.command("formats")
@click.pass_obj
def formats(services: Services) -> None:
    """List the import formats shipped with mapsvc."""
    from mapsvc.ingest.detect import shipped_mappings

    for m in shipped_mappings(services.taxonomy):
        click.echo(f"{m.name:24} {m.title}  ({m.path.name})")


@click.group("layers")
def layers() -> None:
    """Taxonomy and layer definitions (layers/)."""


@layers.command("validate")
@click.argument(
    "folder", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path)
)
@click.pass_obj
def layers_validate(services: Services, folder: Path | None) -> None:
    """Check taxonomy.yaml and every layer file in FOLDER (default: the configured one)."""
    from mapsvc.core.layers import load_layers
    from mapsvc.core.taxonomy import load_taxonomy

    folder = folder or Path(services.config["LAYERS_DIR"])
    try:
        taxonomy = load_taxonomy(folder)
        count = len(load_layers(folder, taxonomy))
    except InvalidLayerDefinition as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f"{folder}: taxonomy ok ({len(taxonomy.provider_types)} provider types, "
        f"{len(taxonomy.capabilities)} capabilities), {count} layers ok"
    )


COMMANDS = [init_db, import_cmd, formats, layers]

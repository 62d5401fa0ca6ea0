"""`mapsvc mapping suggest`: a starting import mapping written from a file itself."""

from __future__ import annotations

from pathlib import Path

import click

from mapsvc.core.services import Services


@click.group("mapping")
def mapping() -> None:
    """Import mappings (YAML) for files in a municipality's own schema."""


@mapping.command("suggest")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--type",
    "provider_type",
    help="Provider type of every row, when no column says it (e.g. hospital).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the mapping here (default: print it).",
)
@click.pass_obj
def suggest(services: Services, file: Path, provider_type: str | None, out: Path | None) -> None:
    """Write a starting mapping for FILE from its header and sample rows.

    Every guess (name, kana, address, coordinates, phone/FAX, URL, id, hours, the provider
    type from a column's values or --type) is explained in a comment at the top, with what
    could not be decided; import with `mapsvc import FILE --mapping mapping.yaml`.
    """
    from mapsvc.ingest.mapping import load_mapping
    from mapsvc.ingest.suggest import render, suggest_mapping

    if provider_type and provider_type not in services.taxonomy.provider_types:
        raise click.BadParameter(
            f"unknown provider type {provider_type!r}; expected one of "
            + ", ".join(services.taxonomy.provider_types),
            param_hint="--type",
        )
    result, notes = suggest_mapping(file, services.taxonomy, provider_type=provider_type)
    text = render(result, notes, file)
    if out is None:
        click.echo(text)
        return
    out.write_text(text, encoding="utf-8")
    load_mapping(out, services.taxonomy)  # what it wrote is a valid mapping
    click.echo(f"wrote {out}: {len(notes)} notes at the top; import with --mapping {out}")


COMMANDS = [mapping]

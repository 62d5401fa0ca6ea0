"""`mapsvc demo` (load the synthetic demo city, then serve it) and `mapsvc serve`."""

from __future__ import annotations

from typing import Any

import click

from mapsvc.core.services import Services

PRODUCTION_HINT = (
    "For production, run behind a WSGI server instead, e.g.\n"
    "  MAPSVC_INSTANCE_PATH={instance} gunicorn -w 2 -b 127.0.0.1:{port} 'mapsvc:create_app()'"
)


def _serve(services: Services, host: str, port: int) -> None:
    """Serve the app with werkzeug's threaded development server (blocks until Ctrl+C)."""
    from mapsvc.web.serve import serve

    click.echo(f"mapsvc is serving on http://{host}:{port}/  (Ctrl+C to stop)")
    click.echo(PRODUCTION_HINT.format(instance=services.config["INSTANCE_PATH"], port=port))
    serve(services.config["INSTANCE_PATH"], host, port)


def _report(report: Any) -> None:
    if report.generated:
        click.echo(f"generated the demo files in {report.folder}")
    areas = ", ".join(f"{n} {k}" for k, n in report.areas.items())
    click.echo(f"areas: {areas}")
    pop = report.population
    click.echo(
        f"population: {pop['loaded']} mesh cells, {pop['total']:,} people "
        f"({pop['inserted']} new, {pop['updated']} changed)"
    )
    click.echo(f"road network: {report.network['nodes']} nodes, {report.network['edges']} edges")
    if report.providers is None:
        click.echo("providers: already loaded, nothing changed")
    else:
        p = report.providers
        click.echo(
            f"providers: {p['rows']} rows, {p['inserted']} inserted, {p['updated']} updated, "
            f"{p['rejected']} rejected, {p['pending_geocode']} without a location"
        )
    if report.config_note:
        click.echo(f"note: {report.config_note}")
    click.echo(f"demo ready in {report.seconds:.1f} s — 架空のデモデータです (synthetic data)")


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--no-serve", is_flag=True, help="Only generate and load the demo; do not serve.")
@click.option("--force", is_flag=True, help="Regenerate the demo files even if they exist.")
@click.pass_obj
def demo(services: Services, host: str, port: int, no_serve: bool, force: bool) -> None:
    """Load the synthetic demo city「デモ市（架空）」into the instance, then serve it.

    Generates the demo files into <instance>/demo/ when absent (seed: DEMO_SEED) and
    loads them through the normal importers; running it again changes nothing. No user
    accounts are created: add them with `mapsvc users add NAME --role ROLE`.
    """
    from mapsvc.demo import load_demo

    report = load_demo(services, force=force)
    _report(report)
    click.echo(
        "No accounts are created for you. To use /pro, /planner and /admin, add users, e.g.\n"
        "  mapsvc users add planner1 --role planner\n"
        "  mapsvc users add editor1 --role editor"
    )
    if not no_serve:
        _serve(services, host, port)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.pass_obj
def serve(services: Services, host: str, port: int) -> None:
    """Serve the configured store with werkzeug's threaded server (development, demos)."""
    services.store.upgrade()
    _serve(services, host, port)


COMMANDS = [demo, serve]

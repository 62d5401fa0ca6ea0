"""The ``mapsvc`` command line. Each command group lives in ``mapsvc/commands/``."""

from __future__ import annotations

import sys
from typing import Any

import click

from mapsvc.core.errors import MapsvcError
from mapsvc.core.services import Services


class MapsvcGroup(click.Group):
    """Turns mapsvc errors into one clear message and exit status 1 (no traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MapsvcError as exc:
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(1)


@click.group(cls=MapsvcGroup)
@click.option(
    "--instance",
    "instance_path",
    envvar="MAPSVC_INSTANCE_PATH",
    default=None,
    help="Instance folder (store, network, caches). Default: ./instance or MAPSVC_INSTANCE_PATH.",
)
@click.pass_context
def main(ctx: click.Context, instance_path: str | None) -> None:
    """mapsvc: 在宅医療・介護資源マップ — map of home medical and long-term care resources.

    Configuration comes from MAPSVC_* environment variables and <instance>/mapsvc.toml;
    see README.md "Configuration".
    """
    overrides = {"INSTANCE_PATH": instance_path} if instance_path else None
    services = Services.from_config(overrides)
    ctx.obj = services
    ctx.call_on_close(services.close)


def _register() -> None:
    from mapsvc.commands import registry_cmds

    for command in registry_cmds.COMMANDS:
        main.add_command(command)
    import importlib
    import pkgutil

    from mapsvc import commands

    for info in pkgutil.iter_modules(commands.__path__):
        if info.name == "registry_cmds":
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        for command in getattr(module, "COMMANDS", ()):
            main.add_command(command)


_register()

if __name__ == "__main__":  # python -m mapsvc.cli
    main()

"""`mapsvc users ...`: accounts for professionals, planners and editors."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from mapsvc.core.services import Services

# = mapsvc.core.users.ROLES (tests/test_cli_startup.py holds them equal); spelled out here
# so `mapsvc --help` does not import the store's models
ROLES = ("professional", "planner", "editor")


@click.group("users")
def users() -> None:
    """Manage user accounts (roles: professional, planner, editor)."""


@users.command("add")
@click.argument("username")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    required=True,
    help="professional: finder; planner: planner view; editor: everything incl. admin.",
)
@click.option("--name", "display_name", help="Display name.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for (hidden) unless given; at least 10 characters.",
)
@click.pass_obj
def users_add(
    services: Services, username: str, role: str, display_name: str | None, password: str
) -> None:
    """Add a user who can log in to /pro, /planner or /admin according to ROLE."""
    from mapsvc.core.users import add_user

    services.store.upgrade()
    with services.store.session() as session:
        add_user(session, username, password, role, display_name=display_name)
    click.echo(f"user {username} added with role {role}")


@users.command("password")
@click.argument("username")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for (hidden) unless given; at least 10 characters.",
)
@click.pass_obj
def users_password(services: Services, username: str, password: str) -> None:
    """Set a user's password; every session the user has open ends."""
    from mapsvc.core.users import set_password

    with services.store.session() as session:
        set_password(session, username, password, actor="cli")
    click.echo(f"password of {username} changed; their sessions have ended")


@users.command("list")
@click.pass_obj
def users_list(services: Services) -> None:
    """List users and their roles."""
    from sqlalchemy import select

    from mapsvc.core.models import User

    with services.store.session() as session:
        for user in session.scalars(select(User).order_by(User.username)):
            click.echo(
                f"{user.username:20} {user.role:13} {'active' if user.active else 'inactive'}"
            )


COMMANDS = [users]

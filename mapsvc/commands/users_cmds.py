"""`mapsvc users ...`: accounts for professionals, planners and editors."""

from __future__ import annotations

import click
from sqlalchemy import select

from mapsvc.core.models import User
from mapsvc.core.services import Services
from mapsvc.core.users import ROLES, add_user, set_password


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
    with services.store.session() as session:
        set_password(session, username, password, actor="cli")
    click.echo(f"password of {username} changed; their sessions have ended")


@users.command("list")
@click.pass_obj
def users_list(services: Services) -> None:
    """List users and their roles."""
    with services.store.session() as session:
        for user in session.scalars(select(User).order_by(User.username)):
            click.echo(
                f"{user.username:20} {user.role:13} {'active' if user.active else 'inactive'}"
            )


COMMANDS = [users]

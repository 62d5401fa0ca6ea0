"""`mapsvc tokens ...`: per-user API tokens for the JSON finder (POST /pro/api/finder)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from mapsvc.core.services import Services


@click.group("tokens")
def tokens() -> None:
    """Issue, list and revoke API tokens (each acts as its user)."""


@tokens.command("issue")
@click.argument("username")
@click.option("--label", help="What the token is for (e.g. the care-management software).")
@click.pass_obj
def tokens_issue(services: Services, username: str, label: str | None) -> None:
    """Issue a token for USERNAME; it is printed once and never shown again."""
    from mapsvc.core.api_tokens import issue_token

    services.store.upgrade()
    with services.store.session() as session:
        token = issue_token(session, username, actor="cli", label=label)
    click.echo(token)


@tokens.command("list")
@click.pass_obj
def tokens_list(services: Services) -> None:
    """Every token: id, user, label, issued, last used, revoked (never the token itself)."""
    from mapsvc.core.api_tokens import list_tokens

    with services.store.session() as session:
        for row, username in list_tokens(session):
            state = f"revoked {row.revoked_at:%Y-%m-%d}" if row.revoked_at else "active"
            used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "-"
            click.echo(
                f"{row.id:5} {username:20} {row.label or '-':24} "
                f"{row.issued_at:%Y-%m-%d} used {used:16} {state}"
            )


@tokens.command("revoke")
@click.argument("token_id", type=int)
@click.pass_obj
def tokens_revoke(services: Services, token_id: int) -> None:
    """Revoke the token with TOKEN_ID (from `tokens list`)."""
    from mapsvc.core.api_tokens import revoke_token

    with services.store.session() as session:
        revoke_token(session, token_id, actor="cli")
    click.echo(f"token {token_id} revoked")


COMMANDS = [tokens]

"""API tokens for the JSON finder: an editor issues one per user and revokes it."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from mapsvc.core.api_tokens import issue_token, list_tokens, revoke_token
from mapsvc.core.errors import InvalidInput, NotFound
from mapsvc.core.models import User
from mapsvc.web.admin._common import actor, bp, editor_view
from mapsvc.web.context import services
from mapsvc.web.i18n import t


def _page(new_token: str | None = None, status: int = 200) -> Response:
    with services().store.session() as session:
        rows = [
            {
                "id": row.id,
                "username": name,
                "label": row.label,
                "issued_at": row.issued_at,
                "issued_by": row.issued_by,
                "last_used_at": row.last_used_at,
                "revoked_at": row.revoked_at,
            }
            for row, name in list_tokens(session)
        ]
        users = [
            u.username
            for u in session.scalars(select(User).where(User.active).order_by(User.username))
        ]
    html = render_template("admin/tokens.html", rows=rows, users=users, new_token=new_token)
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"  # a new token is on the page once
    return response


@bp.route("/tokens")
@editor_view
def tokens() -> Response:
    """API tokens: who has one, when it was last used; issue and revoke."""
    return _page()


@bp.route("/tokens/issue", methods=["POST"])
@editor_view
def tokens_issue() -> Response:
    """Issue a token (shown on this answer only, never again)."""
    try:
        with services().store.session() as session:
            token = issue_token(
                session,
                request.form.get("username", ""),
                actor=actor(),
                label=request.form.get("label") or None,
            )
    except (InvalidInput, NotFound) as exc:
        flash(exc.message, "error")
        return _page(status=400)
    return _page(new_token=token)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@editor_view
def tokens_revoke(token_id: int) -> Response:
    """Revoke a token: it stops working at once."""
    with services().store.session() as session:
        revoke_token(session, token_id, actor=actor())
    flash(t(f"トークン {token_id} を無効にしました。", f"Token {token_id} revoked."))
    return redirect(url_for("admin.tokens"))

"""Review queue: provider self-updates with their diffs; approve or reject with a reason."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from mapsvc.core.errors import Conflict, InvalidInput
from mapsvc.upkeep.review import approve, reject, review_queue
from mapsvc.web.admin._common import actor, bp, editor_view, type_labels
from mapsvc.web.context import services
from mapsvc.web.i18n import get_lang, t


@bp.route("/review")
@editor_view
def review_list() -> str:
    """Pending submissions grouped by provider, oldest first (or reviewed ones)."""
    status = request.args.get("status", "pending")  # review_queue refuses unknown ones
    svc = services()
    with svc.store.session() as session:
        groups = review_queue(
            session,
            svc.taxonomy,
            status=status,
            provider_uid=request.args.get("provider") or None,
            lang=get_lang(),
        )
        return render_template(
            "admin/review.html", groups=groups, status=status, type_labels=type_labels()
        )


def _back() -> Response:
    return redirect(url_for("admin.review_list", provider=request.form.get("provider") or None))


@bp.route("/review/<int:submission_id>/approve", methods=["POST"])
@editor_view
def review_approve(submission_id: int) -> Response:
    """Approve: apply to the record, confirm it, audit it."""
    svc = services()
    try:
        with svc.store.session() as session:
            approve(
                session,
                submission_id,
                actor=actor(),
                confirm_link=request.form.get("confirm_link") == "1",
            )
    except Conflict as exc:
        flash(t("承認できません: ", "Cannot approve: ") + exc.message, "error")
        return _back()
    flash(
        t(
            f"#{submission_id} を承認し、地図に反映しました。",
            f"#{submission_id} approved and published.",
        )
    )
    return _back()


@bp.route("/review/<int:submission_id>/reject", methods=["POST"])
@editor_view
def review_reject(submission_id: int) -> Response:
    """Reject with a reason (required); the registry is not changed."""
    svc = services()
    try:
        with svc.store.session() as session:
            reject(session, submission_id, actor=actor(), reason=request.form.get("reason", ""))
    except InvalidInput as exc:
        flash(
            t("却下の理由を入力してください。", "Give a reason for rejecting.")
            + f" ({exc.message})",
            "error",
        )
        return _back()
    except Conflict as exc:
        flash(exc.message, "error")
        return _back()
    flash(t(f"#{submission_id} を却下しました。", f"#{submission_id} rejected."))
    return _back()

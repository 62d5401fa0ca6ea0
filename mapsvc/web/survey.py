"""The provider's survey form at ``/survey/<token>`` (no account; the link is the key).

A provider opens its link, sees a form generated from the taxonomy for its type with its
current answers filled in, and sends it. The answers go to the editor's review queue;
nothing is published before an editor approves them. CSRF-protected like every form.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from mapsvc.core.registry import provider_record
from mapsvc.upkeep.review import InvalidAnswers, receive
from mapsvc.upkeep.survey import resolve
from mapsvc.upkeep.survey_form import (
    SURVEY_FIELDS,
    answers_from_form,
    current_answers,
    form_groups,
    input_label,
    validate_answers,
)
from mapsvc.web.context import services
from mapsvc.web.i18n import get_lang

bp = Blueprint("survey", __name__)


def _private(response: Response) -> Response:
    # The URL carries the token: never send it on as a Referer, never cache the page.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _render(
    record: dict[str, Any], answers: dict[str, Any], errors: dict[str, str], token: str, status: int
) -> Response:
    svc = services()
    response = make_response(
        render_template(
            "survey/form.html",
            record=record,
            type_label=svc.taxonomy.provider_types[record["type"]].label,
            groups=form_groups(svc.taxonomy, record["type"]),
            survey_fields=SURVEY_FIELDS,
            answers=answers,
            errors=errors,
            error_labels={n: input_label(svc.taxonomy, n, get_lang()) for n in errors},
            token=token,
        ),
        status,
    )
    return _private(response)


@bp.route("/survey/<token>", methods=["GET", "POST"])
def form(token: str) -> Response:
    """The survey form for the provider the link belongs to."""
    svc = services()
    secret = current_app.config["SECRET_KEY"]
    with svc.store.session() as session:
        claimed = request.form.get("provider_id") if request.method == "POST" else None
        link, provider = resolve(session, secret, token, provider_uid=claimed)
        record = provider_record(provider)
        if request.method == "GET":
            return _render(record, current_answers(record), {}, token, 200)
        answers, errors = answers_from_form(svc.taxonomy, request.form.items(multi=True))
        if not errors:
            try:
                receive(session, svc.taxonomy, provider, answers, origin="web", token_id=link.id)
            except InvalidAnswers as exc:
                errors = exc.errors
        else:
            _, more = validate_answers(svc.taxonomy, provider.type, answers)
            errors = {**more, **errors}
        if errors:
            shown = current_answers(record)
            shown.update({k: v for k, v in answers.items() if v or k == "comment"})
            shown["service_area"] = answers.get("service_area") or shown["service_area"]
            return _render(record, shown, errors, token, 400)
    return _private(redirect(url_for("survey.thanks", token=token), 303))  # type: ignore[arg-type]


@bp.route("/survey/<token>/thanks")
def thanks(token: str) -> Response:
    """Receipt after sending (the link stays valid for corrections until it expires)."""
    svc = services()
    with svc.store.session() as session:
        link, provider = resolve(session, current_app.config["SECRET_KEY"], token, touch=False)
        name, expires = provider.name, link.expires_at
    response = make_response(
        render_template("survey/thanks.html", name=name, expires=expires, token=token)
    )
    return _private(response)

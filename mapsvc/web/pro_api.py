"""The JSON finder (``POST /pro/api/finder``) for care-management software and own tools.

The same query as the form, as a JSON body; authenticated by the professional session or
a per-user API token (``Authorization: Bearer mst_…``, issued and revoked by an editor).
The body must be ``application/json``, so a cross-site form cannot send it (the view is
exempt from the form CSRF token for that reason). Neither the point nor the address is
logged, stored or echoed.
"""

from __future__ import annotations

import json
import math
from typing import Any

from flask import Blueprint, abort, current_app, request
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from mapsvc.core.api_tokens import token_user
from mapsvc.core.errors import InvalidInput
from mapsvc.core.models import utcnow
from mapsvc.core.users import can_access
from mapsvc.finder.finder_api import answer, result_rows
from mapsvc.web.auth import csrf, current_role
from mapsvc.web.context import services
from mapsvc.web.i18n import get_lang
from mapsvc.web.mapdata import provider_index
from mapsvc.web.pro import run_search

bp = Blueprint("pro_api", __name__)
_KEYS = {"address", "lon", "lat", "cap", "type", "seed"}


def _authorised() -> bool:
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        with services().store.session() as session:
            who = token_user(session, token.strip())
            return who is not None and can_access(who.role, "professional")
    return can_access(current_role(), "professional")


def _form(body: Any) -> MultiDict[str, str]:
    """The JSON body as the form's fields (one parser for both)."""
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object", field="body")
    unknown = sorted(set(body) - _KEYS)
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}", field=unknown[0])
    form: MultiDict[str, str] = MultiDict()
    address = body.get("address")
    if address is not None:
        if not isinstance(address, str):
            raise InvalidInput("address must be a string", field="address")
        form.add("address", address)
    for key in ("lon", "lat"):
        value = body.get(key)
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise InvalidInput(f"{key} must be a number", field=key)
        form.add(key, repr(float(value)))
    for key in ("cap", "type"):
        values = body.get(key) or []
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise InvalidInput(f"{key} must be a list of strings", field=key)
        for value in values:
            form.add(key, value)
    seed = body.get("seed")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise InvalidInput("seed must be a non-negative integer", field="seed")
        form.add("seed", str(seed))
    return form


@bp.post("/finder")
@csrf.exempt
def finder() -> Response:
    """Who can serve this point with these needs, as JSON (professionals)."""
    if not _authorised():
        abort(401, description="log in as a professional or send Authorization: Bearer <token>")
    if not request.is_json:
        abort(415, description="send the query as application/json")
    try:
        body = json.loads(request.get_data(as_text=True) or "null")
    except ValueError:
        raise InvalidInput("the body is not valid JSON", field="body") from None
    result, matched, why = run_search(_form(body))
    lang = get_lang()
    results = result_rows(result, provider_index(), lang, current_app.config, utcnow())
    doc = answer(result, results, lang, matched, why)
    response = Response(
        json.dumps(doc, ensure_ascii=False, separators=(",", ":")), mimetype="application/json"
    )
    response.headers["Cache-Control"] = "no-store"
    return response

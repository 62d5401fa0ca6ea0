"""The drawing blueprint and what its views share."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request
from flask_login import current_user

from mapsvc.core.errors import InvalidInput

bp = Blueprint("draw", __name__)


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("expected a JSON object", field="body")
    return body


def actor() -> str:
    return str(current_user.username)


def basemap() -> dict[str, str]:
    return {
        "url": current_app.config["BASEMAP_URL"],
        "attribution": current_app.config["BASEMAP_ATTRIBUTION"],
    }

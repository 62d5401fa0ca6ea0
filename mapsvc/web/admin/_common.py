"""The admin blueprint and what its views share: the editor role check, the acting user,
CSV downloads, the Japan-time template filter and provider type labels."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response
from flask_login import current_user

from mapsvc.core._csv import BOM_ENCODING
from mapsvc.core.staleness import JST
from mapsvc.web.auth import role_required
from mapsvc.web.context import services

bp = Blueprint("admin", __name__)


def editor_view(view: Callable[..., Any]) -> Callable[..., Any]:
    """Editor role required (login first)."""
    return role_required("editor")(view)


def actor() -> str:
    """Who is acting (recorded in the audit log and as confirmed_by)."""
    return str(current_user.username)


def csv_download(text: str, filename: str) -> Response:
    """CSV as an attachment, UTF-8 with BOM (Excel reads Japanese correctly)."""
    response = Response(text.encode(BOM_ENCODING), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_filter("jst")
def jst(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored time (naive UTC) shown in Japan time."""
    if value is None:
        return ""
    return value.replace(tzinfo=UTC).astimezone(JST).strftime(fmt)


def type_labels(lang: str = "ja") -> dict[str, str]:
    return {k: t.label.get(lang) for k, t in services().taxonomy.provider_types.items()}

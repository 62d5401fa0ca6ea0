"""Response headers and request checks that hold for every route.

- ``Content-Security-Policy``: scripts from this site only (no inline script; the JSON data
  blocks of the maps are not executed), images also from the base map's tile host and
  ``data:``/``blob:``, no framing (``frame-ancestors 'none'``), forms post to this site only.
- ``Cache-Control: no-store`` on every page and download a logged-in user gets, and on the
  professional, planner, admin and survey areas (the audit log, FAX numbers in review diffs,
  survey tokens in URLs). :data:`SAME_FOR_EVERYONE` (the maps' geography, no caller's data)
  stays cacheable, ``private`` for a logged-in user (a session cookie may ride on it).
- ``lang`` is one of :data:`mapsvc.web.i18n.LANGS` on every route (400 naming ``lang``).
"""

from __future__ import annotations

from urllib.parse import urlparse

from flask import Flask, Response, request
from flask_login import current_user

from mapsvc.core.errors import InvalidInput
from mapsvc.web.i18n import LANGS

PRIVATE_PREFIXES = ("/pro", "/planner", "/admin", "/survey", "/login", "/logout")
# answers that are identical for every caller and hold nothing of theirs
SAME_FOR_EVERYONE = ("/areas.geojson",)


def content_security_policy(basemap_url: str) -> str:
    """The CSP header value; the base map's tile origin is allowed for images."""
    parsed = urlparse(basemap_url or "")
    tiles = f" {parsed.scheme}://{parsed.netloc}" if parsed.scheme and parsed.netloc else ""
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob:{tiles}",
            "connect-src 'self'",
            "font-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _private(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PRIVATE_PREFIXES)


def init_app(app: Flask) -> None:
    csp = content_security_policy(str(app.config.get("BASEMAP_URL", "")))

    @app.before_request
    def _check_enums() -> None:
        for lang in request.args.getlist("lang"):
            if lang not in LANGS:
                raise InvalidInput(f"lang: expected one of {', '.join(LANGS)}", field="lang")

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", csp)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        path = request.path
        if path in SAME_FOR_EVERYONE:
            if current_user.is_authenticated:
                cache = headers.get("Cache-Control", "")
                headers["Cache-Control"] = cache.replace("public", "private") or "no-store"
        elif not path.startswith("/static/") and (_private(path) or current_user.is_authenticated):
            headers["Cache-Control"] = "no-store"
            headers.setdefault("Pragma", "no-cache")
        return response

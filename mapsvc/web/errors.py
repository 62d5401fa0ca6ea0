"""Errors to responses, one handler per output kind: JSON under /api, HTML elsewhere.

The JSON shape is ``{"error": code, "message": text, "field": name?}`` (a tested
contract). Messages are safe to show: no professional fields, no typed addresses.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from mapsvc.core.errors import MapsvcError

log = logging.getLogger("mapsvc.web")


def wants_json() -> bool:
    """JSON errors for API routes (``/api/…`` and a view's own ``…/api/…``), downloads and
    clients asking for JSON; HTML pages for the rest."""
    path = request.path
    return (
        path == "/api"
        or path.startswith("/api/")
        or "/api/" in path
        or "/download/" in path
        or request.accept_mimetypes.best == "application/json"
    )


def init_app(app: Flask) -> None:
    @app.errorhandler(MapsvcError)
    def _mapsvc_error(exc: MapsvcError) -> tuple[Response | str, int]:
        status = exc.status
        if wants_json():
            return jsonify(exc.to_dict()), status
        return render_template("error.html", status=status, message=exc.message), status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        if wants_json():
            body = {"error": exc.name.lower().replace(" ", "_"), "message": exc.description}
            response = make_response(jsonify(body), status)
        else:
            page = render_template("error.html", status=status, message=exc.description)
            response = make_response(page, status)
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)  # RFC 9110 15.5.6
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response | str, int]:
        log.exception("unexpected error on %s %s", request.method, request.path)
        message = "internal error"
        if wants_json():
            return jsonify({"error": "internal_error", "message": message}), 500
        return render_template("error.html", status=500, message=message), 500

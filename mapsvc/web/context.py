"""Access to the app's services from views, and per-request housekeeping."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from ..services import Services


def services() -> Services:
    return current_app.extensions["mapsvc"]  # type: ignore[no-any-return]


def init_app(app: Flask) -> None:
    @app.teardown_appcontext
    def _noop(_exc: BaseException | None) -> None:  # sessions are opened with `with` blocks
        return None

    @app.context_processor
    def _inject() -> dict[str, Any]:
        svc = services()
        return {"taxonomy": svc.taxonomy, "config": app.config}

"""Access to the app's services from views and templates."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from mapsvc.core.services import Services


def services() -> Services:
    return current_app.extensions["mapsvc"]  # type: ignore[no-any-return]


def init_app(app: Flask) -> None:
    @app.context_processor
    def _inject() -> dict[str, Any]:
        return {"taxonomy": services().taxonomy}  # Flask already provides `config`

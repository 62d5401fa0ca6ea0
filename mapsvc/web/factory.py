"""Assembles the Flask app: configuration, services, extensions, blueprints, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from mapsvc.core.config import ensure_secret_key
from mapsvc.core.services import Services
from mapsvc.geo.geocode import build_chain


def build_app(overrides: dict[str, Any] | None = None) -> Flask:
    services = Services.from_config(overrides)
    config = services.config
    ensure_secret_key(config)
    app = Flask(
        "mapsvc",
        instance_path=config["INSTANCE_PATH"],
        static_folder=config["STATIC_DIR"],
        static_url_path="/static",
        template_folder=str(Path(__file__).resolve().parent.parent / "templates"),
    )
    app.config.update(config)
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=config["SESSION_COOKIE_SECURE"],
        WTF_CSRF_TIME_LIMIT=None,
        JSON_AS_ASCII=False,
        MAX_CONTENT_LENGTH=32 * 1024 * 1024,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["mapsvc"] = services
    services.taxonomy  # noqa: B018 - validate the taxonomy at start-up: a broken file stops here
    build_chain(config["GEOCODERS"], config)  # likewise the geocoder chain and gazetteer files

    from mapsvc.web import auth, context, errors, i18n, security

    auth.init_app(app)
    i18n.init_app(app)
    context.init_app(app)
    errors.init_app(app)
    security.init_app(app)

    from mapsvc.web import blueprints

    blueprints.register(app)
    return app

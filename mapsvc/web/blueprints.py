"""One blueprint per audience; each module exposes ``bp``."""

from __future__ import annotations

import importlib

from flask import Flask

# (module, url prefix). Order matters only for readability.
BLUEPRINTS: list[tuple[str, str | None]] = [
    ("mapsvc.web.auth", None),
    ("mapsvc.web.survey", None),
    ("mapsvc.web.admin", "/admin"),
    ("mapsvc.web.confirmation", None),
    ("mapsvc.web.api", "/api"),
    ("mapsvc.web.public", None),
    ("mapsvc.web.pro", "/pro"),
    ("mapsvc.web.pro_api", "/pro/api"),
    ("mapsvc.web.pro_saved", "/pro/shortlists"),
    ("mapsvc.web.planner", "/planner"),
    ("mapsvc.web.draw", None),  # /planner/areas/ and /admin/providers/<uid>/service-area
]


def register(app: Flask) -> None:
    for module_name, prefix in BLUEPRINTS:
        module = importlib.import_module(module_name)
        app.register_blueprint(module.bp, url_prefix=prefix)

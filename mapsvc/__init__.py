"""mapsvc: map of a municipality's home medical care and long-term care resources.

``create_app(config)`` builds the Flask application; importing this package creates
nothing and reads no files.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

__version__ = "0.1.0"


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the web application.

    Parameters
    ----------
    config
        Highest-priority settings (tests pass ``{"TESTING": True, "INSTANCE_PATH": ...}``);
        below them come ``MAPSVC_*`` environment variables, ``<instance>/mapsvc.toml`` and
        the defaults in :mod:`mapsvc.core.config`.
    """
    from mapsvc.web.factory import build_app

    return build_app(config)

"""Serve the app with werkzeug's threaded development server (``mapsvc demo`` / ``serve``)."""

from __future__ import annotations

from pathlib import Path

from werkzeug.serving import run_simple

from mapsvc import create_app


def serve(instance_path: Path | str, host: str, port: int) -> None:
    """Build the app for an instance folder and serve it until Ctrl+C."""
    app = create_app({"INSTANCE_PATH": instance_path})
    run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)

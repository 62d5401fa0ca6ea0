"""Japanese first, English available: ``?lang=en`` switches and is remembered in a cookie."""

from __future__ import annotations

from flask import Flask, Response, current_app, g, request

LANGS = ("ja", "en")


def get_lang() -> str:
    lang = getattr(g, "lang", None)
    if lang is None:
        lang = (
            request.args.get("lang")
            or request.cookies.get("lang")
            or current_app.config["DEFAULT_LANGUAGE"]
        )
        if lang not in LANGS:
            lang = "ja"
        g.lang = lang
    return str(lang)


def t(ja: str, en: str) -> str:
    """The text in the current language."""
    return en if get_lang() == "en" else ja


def init_app(app: Flask) -> None:
    @app.context_processor
    def _inject() -> dict[str, object]:
        return {"lang": get_lang(), "t": t}

    @app.after_request
    def _remember(response: Response) -> Response:
        chosen = request.args.get("lang")
        if chosen in LANGS:
            response.set_cookie(
                "lang", chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True
            )
        return response

"""Japanese first, English available: ``?lang=en`` switches and is remembered in a cookie."""

from __future__ import annotations

from urllib.parse import urlencode

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


def lang_url(code: str) -> str:
    """This page in language ``code``: the same path and every other query parameter, in
    order, with ``lang`` set (replaced, never repeated)."""
    params = [(k, v) for k, vs in request.args.lists() if k != "lang" for v in vs]
    params.append(("lang", code))
    return f"{request.script_root}{request.path}?{urlencode(params)}"


def init_app(app: Flask) -> None:
    @app.context_processor
    def _inject() -> dict[str, object]:
        lang = get_lang()
        other = "ja" if lang == "en" else "en"
        return {"lang": lang, "other_lang": other, "t": t, "lang_url": lang_url}

    @app.after_request
    def _remember(response: Response) -> Response:
        chosen = request.args.get("lang")
        if chosen in LANGS:
            response.set_cookie(
                "lang", chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True
            )
        return response

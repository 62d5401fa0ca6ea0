"""How current a record is, for every view: a template global and a macro.

Templates anywhere can call ``confirmation(record)`` (a provider record or an index row
with ``confirmed_at`` and, ideally, ``created_at``) and get the dict of
:func:`mapsvc.core.staleness.confirmation_badge` for now, in the page's language::

    {% from "_confirmation.html" import last_confirmed %}
    {{ last_confirmed(record) }}   {# 最終確認日 2026-04-01, or 未確認（最終確認日 …） #}

Views that build JSON call :func:`record_badge` the same way. This blueprint has no routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, current_app

from mapsvc.core.models import utcnow
from mapsvc.core.staleness import confirmation_badge
from mapsvc.web.i18n import get_lang

bp = Blueprint("confirmation", __name__)


def record_badge(record: Mapping[str, Any], lang: str | None = None) -> dict[str, Any]:
    """``state``, ``label``, ``date`` (Japan time) and ``text`` for a record, now."""
    return confirmation_badge(record, utcnow(), current_app.config, lang or get_lang())


@bp.app_template_global("confirmation")
def confirmation(record: Mapping[str, Any]) -> dict[str, Any]:
    """Template global: the record's confirmation badge (see module docstring)."""
    return record_badge(record)

"""Publication state and published coordinates that cannot be used, as importers see them.

``public`` (公開/非公開, publish 1/0) decides whether a provider appears in any public
output; a non-public provider stays visible to professionals only when its source says so
(``professional_visible``, or the value 関係者のみ). Coordinates at (0, 0), outside Japan
or with latitude and longitude swapped are not a reason to lose a row: they are dropped,
kept as published in ``extra``, and the row is placed from its address.
"""

from __future__ import annotations

import re

from mapsvc.core.codes import in_japan, nfkc

PUBLIC_VALUES = frozenset(
    {
        "公開",
        "公開する",
        "掲載",
        "掲載する",
        "1",
        "true",
        "yes",
        "y",
        "○",
        "〇",
        "◯",
        "可",
        "はい",
        "public",
    }
)
HIDDEN_VALUES = frozenset(
    {"非公開", "公開しない", "非掲載", "掲載しない", "0", "false", "no", "n", "×", "✕", "不可",
     "いいえ", "hidden", "private"}
)  # fmt: skip
PROFESSIONAL_VALUES = frozenset(
    {"関係者のみ", "関係者限定", "専門職のみ", "専門職限定", "professional", "professionals"}
)


def _key(raw: str) -> str:
    return re.sub(r"\s+", "", nfkc(raw)).casefold()


def publication(raw_public: str, raw_professional: str = "") -> dict[str, bool]:
    """``{"public", "professional_visible"}`` from the cells (empty: ``{}``, nothing changes).

    Raises
    ------
    ValueError
        A value that is none of the words above (the message lists them).
    """
    out: dict[str, bool] = {}
    value = _key(raw_public)
    if value:
        if value in PUBLIC_VALUES:
            out.update(public=True, professional_visible=True)
        elif value in PROFESSIONAL_VALUES:
            out.update(public=False, professional_visible=True)
        elif value in HIDDEN_VALUES:
            out.update(public=False, professional_visible=False)
        else:
            raise ValueError(
                f"public {raw_public!r} is not 公開/非公開/関係者のみ (or 1/0, true/false, ○/×)"
            )
    pro = _key(raw_professional)
    if pro and out.get("public") is not True:
        if pro in PUBLIC_VALUES or pro in PROFESSIONAL_VALUES:
            out["professional_visible"] = True
        elif pro in HIDDEN_VALUES:
            out["professional_visible"] = False
        else:
            raise ValueError(f"professional_visible {raw_professional!r} is not yes/no (1/0)")
    return out


def coordinate_problem(lon: float, lat: float) -> str | None:
    """Why a published coordinate cannot be used, or None when it lies in Japan."""
    if in_japan(lon, lat):
        return None
    if lon == 0 and lat == 0:
        return "(0, 0)"
    if in_japan(lat, lon):
        return "latitude and longitude swapped"
    return "outside Japan"


def dropped_coordinates(lon: float, lat: float) -> str:
    """The published pair and why it was dropped, for ``extra["dropped_coordinates"]``."""
    return f"lon {lon:g}, lat {lat:g}: {coordinate_problem(lon, lat) or 'unusable'}"

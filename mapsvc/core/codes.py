"""Japanese codes and text conventions: 全国地方公共団体コード, coordinates, normalisation."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Japan's extent with a margin (Minamitorishima 153.98E, Okinotorishima 20.42N,
# Yonaguni 122.93E, Etorofu 45.56N).
JAPAN_LON = (122.0, 154.5)
JAPAN_LAT = (20.0, 46.0)

_WEIGHTS = (6, 5, 4, 3, 2)


def check_digit(code5: str) -> str:
    """Check digit of a 5-digit municipality code (JIS X 0402, modulus 11)."""
    total = sum(int(d) * w for d, w in zip(code5, _WEIGHTS, strict=True))
    return str((11 - total % 11) % 10)


@lru_cache(maxsize=8192)  # a file repeats a handful of codes on every row
def normalise_municipality_code(raw: str) -> str:
    """Return the 6-digit code (with check digit) for a 5- or 6-digit input.

    Raises
    ------
    ValueError
        Not 5 or 6 digits, an unknown prefecture (01-47), or a wrong check digit.
    """
    code = unicodedata.normalize("NFKC", raw).strip()
    if code.endswith(".0"):  # spreadsheets turn codes into floats
        code = code[:-2]
    if not code.isdigit() or len(code) not in (5, 6):
        raise ValueError(f"municipality code {raw!r} is not 5 or 6 digits")
    if not 1 <= int(code[:2]) <= 47:
        raise ValueError(f"municipality code {raw!r}: prefecture {code[:2]} is not 01-47")
    expected = check_digit(code[:5])
    if len(code) == 6 and code[5] != expected:
        raise ValueError(f"municipality code {raw!r}: check digit should be {expected}")
    return code[:5] + expected


def in_japan(lon: float, lat: float) -> bool:
    return JAPAN_LON[0] <= lon <= JAPAN_LON[1] and JAPAN_LAT[0] <= lat <= JAPAN_LAT[1]


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def nfkc(text: str) -> str:
    """NFKC with surrounding whitespace (incl. U+3000) removed.

    Never creates a spreadsheet formula: a leading full-width ＝＋－＠ stays full-width
    (NFKC alone would turn ``＝HYPERLINK(…)`` into ``=HYPERLINK(…)``), and the export
    rule's guard (a ``'`` before ``= + - @``, see :func:`mapsvc.core._csv.text_cell`) is
    dropped, so an exported file read back holds the stored value.
    """
    if not text:
        return text
    if text.isascii():
        out = text.strip()
    else:
        stripped = text.strip()
        out = unicodedata.normalize("NFKC", stripped).strip()
        if out.startswith(FORMULA_START) and stripped[:1] in "\uff1d\uff0b\uff0d\uff20\u2212":
            out = stripped[0] + unicodedata.normalize("NFKC", stripped[1:]).strip()
    if out[:1] == "'" and out[1:2] in ("=", "+", "-", "@"):
        out = out[1:]
    return out


_SPACE = re.compile(r"\s+")
# a note after the column name: 「名称※必須」, 「住所 ※番地まで」, a leading or trailing * / ＊
_STAR_NOTE = re.compile(r"※.*$")
_MARKS = "*＊◆◇●○■□★☆【】"
# a trailing parenthesised note that does not change what the column holds: units,
# geodetic datum, "required", "representative", formats; (フリガナ), (方書) … do change it
_NOTE = re.compile(
    r"[(\[]\s*(?:必須|任意|代表|世界測地系|日本測地系|wgs ?84|jgd ?20\d\d|十進|度|10進|半角|全角|"
    r"数字|数値|ハイフン[^()]*|\d+桁|人|床|名|件|km|分|例[^()]*|形式[^()]*|西暦|和暦|yyyy[^()]*|"
    r"hh:mm|記入例[^()]*|任意項目|必須項目)\s*[)\]]$"
)


def header_key(text: str) -> str:
    """How headers are compared: NFKC (so 「（」 is 「(」 and full-width letters are ASCII),
    no BOM, no whitespace at all (「名 称」 is 「名称」), a 「※…」 note and marks like
    ``*`` dropped, case-folded."""
    key = unicodedata.normalize("NFKC", text.replace("\ufeff", ""))
    key = _SPACE.sub("", _STAR_NOTE.sub("", key)).strip(_MARKS).casefold()
    return key


def header_aliases(text: str) -> list[str]:
    """Keys a header also answers to when no header has them exactly: the key without a
    trailing note such as 「（世界測地系）」, 「（代表）」 or 「（人）」."""
    key = header_key(text)
    out = []
    while (stripped := _NOTE.sub("", key)) != key and stripped:
        out.append(stripped)
        key = stripped
    return out


def header_index(headers: list[str]) -> dict[str, str]:
    """Header key -> actual header: every exact key first, then the aliases no header has
    exactly (:func:`header_aliases`); the first header wins a key."""
    index: dict[str, str] = {}
    for h in headers:
        index.setdefault(header_key(h), h)
    for h in headers:
        for alias in header_aliases(h):
            index.setdefault(alias, h)
    return index


def parse_coordinate(raw: str | float | None) -> float | None:
    """A decimal degree from a cell (NFKC digits); None when empty."""
    if raw is None:
        return None
    if isinstance(raw, int | float):
        return float(raw)
    text = nfkc(raw)
    if not text:
        return None
    return float(text)

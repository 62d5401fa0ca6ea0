"""One text normalisation for every cell an import stores, so that the same data stores
identically whichever encoding or editor it came through.

CP932 and Shift_JIS/UTF-8 disagree on a handful of characters (Python's ``cp932`` decodes
0x8160 as U+FF5E FULLWIDTH TILDE where a UTF-8 file converted from Shift_JIS holds U+301C
WAVE DASH; likewise 0x815C ― / —, 0x817C − / －, 0x8161 ∥ / ‖), and publishers mix
full-width and half-width forms (ｱｲｳ, １２３, ＡＢＣ), ideographic spaces and hyphen look-alikes
(ｰ, ー, ‐, −, － between digits). :func:`clean` applies, in this order:

1. the CP932/JIS variant pairs above folded to one form (〜, ―, ∥) and the other
   wave-dash look-alikes (U+223C, U+223F, U+2053) to 〜;
2. NFKC (full-width ASCII → ASCII, half-width kana → full-width kana, U+3000 → space);
3. between two digits, any hyphen or long-vowel look-alike (ｰ ー ‐ ‑ ‒ – — ― − ﹣ －) → ``-``
   (``5964ｰ1`` = ``5964-1``); elsewhere the hyphens ‐ ‑ ‒ – − become ``-`` and ー stays
   (it is a kana long vowel in names);
4. runs of whitespace (tabs, newlines, U+3000) collapsed to one space, ends stripped.

ASCII text is returned stripped and otherwise unchanged (URLs, e-mail addresses, codes). The
ASCII ``~`` is left alone (URLs use it); only the non-ASCII wave dashes are folded.
"""

from __future__ import annotations

import re
import unicodedata

_FOLD = str.maketrans(
    {
        "\uff5e": "\u301c",  # FULLWIDTH TILDE (cp932 0x8160) -> WAVE DASH
        "\u223c": "\u301c",  # TILDE OPERATOR
        "\u223f": "\u301c",  # SINE WAVE
        "\u2053": "\u301c",  # SWUNG DASH
        "\u2014": "\u2015",  # EM DASH (Shift_JIS 0x815C) -> HORIZONTAL BAR (cp932)
        "\u2016": "\u2225",  # DOUBLE VERTICAL LINE (Shift_JIS 0x8161) -> PARALLEL TO (cp932)
    }
)
_DASHES = "\u2010\u2011\u2012\u2013\u2212\ufe63"
_BETWEEN_DIGITS = re.compile(r"(?<=\d)[\u30fc\uff70\u2010-\u2015\u2212\ufe63\uff0d-](?=\d)")
_HYPHENS = re.compile(f"[{_DASHES}]")
_ANY_DASH = re.compile(f"[{_DASHES}\u2014\u2015\u30fc\uff70\uff0d]")
_TO_FOLD = re.compile("[\uff5e\u223c\u223f\u2053\u2014\u2016]")
_SPACES = re.compile(r"\s+")


def clean(text: str | None) -> str:
    """The stored form of one cell (see module docstring); '' for None."""
    if not text:
        return ""
    if text.isascii():
        return " ".join(text.split()) if ("\n" in text or "\t" in text) else text.strip()
    if _TO_FOLD.search(text):  # str.translate is slow on non-ASCII text: only when needed
        text = text.translate(_FOLD)
    text = unicodedata.normalize("NFKC", text)
    if _ANY_DASH.search(text):
        text = _HYPHENS.sub("-", _BETWEEN_DIGITS.sub("-", text))
    return " ".join(text.split())


def clean_multiline(text: str | None) -> str:
    """Like :func:`clean` but keeps line breaks (notes, hours written on several lines)."""
    if not text:
        return ""
    lines = [clean(line) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "\n".join(line for line in lines if line)

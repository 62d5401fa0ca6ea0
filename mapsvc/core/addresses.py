"""Japanese address normalisation for matching (not for display).

Full-width digits and letters become ASCII (NFKC), kanji numerals before 丁目/番/号/条
become digits (一丁目 → 1丁目, 二十三番 → 23番), 大字/字 markers and spaces are dropped,
and the prefecture + city prefix can be removed so that 香川県高松市朝日町一丁目 and
高松市朝日町１丁目 compare equal.
"""

from __future__ import annotations

import re
import unicodedata

_KANJI_DIGITS = {
    "〇": 0,
    "零": 0,
    "一": 1,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_KANJI_UNITS = {"十": 10, "百": 100, "千": 1000}
_KANJI_NUMBER = re.compile(
    r"[〇零一二三四五六七八九十百千]+(?=(丁目|丁|番町|番地|番|号|条|線|地割))"
)
_SPACES = re.compile(r"[\s\u3000]+")
_PREFECTURE = re.compile(r"^(北海道|東京都|(京都|大阪)府|.{2,3}県)")
_CITY = re.compile(r"^(.+?郡)?(.+?市.+?区|.+?[市区町村])")
_DASHES = re.compile(r"[‐‑‒–—―−ー－]")


def kanji_to_int(text: str) -> int:
    """一 → 1, 十二 → 12, 二十三 → 23, 百五 → 105, 一〇五 → 105."""
    if all(ch in _KANJI_DIGITS for ch in text):
        return int("".join(str(_KANJI_DIGITS[ch]) for ch in text))
    total, current = 0, 0
    for ch in text:
        if ch in _KANJI_DIGITS:
            current = _KANJI_DIGITS[ch]
        else:
            total += (current or 1) * _KANJI_UNITS[ch]
            current = 0
    return total + current


def normalise(address: str) -> str:
    """Comparable form of an address (see module docstring)."""
    text = unicodedata.normalize("NFKC", address)
    text = _SPACES.sub("", text)
    text = _KANJI_NUMBER.sub(lambda m: str(kanji_to_int(m.group(0))), text)
    text = (
        text.replace("大字", "").replace("字", "")
        if "大字" in text or re.search(r"[町村]字", text)
        else text
    )
    text = re.sub(r"(?<=\d)[ー－−‐](?=\d)", "-", text)
    return text


def split_prefecture_city(address: str) -> tuple[str, str, str]:
    """(prefecture, city, rest) of a normalised address; parts may be empty."""
    pref = ""
    m = _PREFECTURE.match(address)
    if m:
        pref, address = m.group(0), address[m.end() :]
    city = ""
    m = _CITY.match(address)
    if m:
        city, address = m.group(0), address[m.end() :]
    return pref, city, address

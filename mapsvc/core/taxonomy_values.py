"""A taxonomy's parts (labels, levels, provider types, fields, capabilities), what people
write for a capability, and the stored value it means.

Spreadsheets, surveys and forms say "受入", "○", "yes", "要相談", "不明(未回答)"; the word
tables here map them (NFKC, lower case) onto the taxonomy's acceptance levels and yes/no
flags, and :func:`parse_capability_value` turns one answer into ``{"level": ...}`` or
``{"value": ...}``. :meth:`mapsvc.core.taxonomy.Taxonomy.parse_value` is the entry point, and
:mod:`mapsvc.core.taxonomy` re-exports the parts: import them from there.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

UNKNOWN = "unknown"


@dataclass(frozen=True)
class Label:
    ja: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.ja


@dataclass(frozen=True)
class Level:
    key: str
    label: Label
    rank: int


@dataclass(frozen=True)
class ProviderType:
    key: str
    label: Label
    category: str
    radius_km: float
    travel_minutes: float


@dataclass(frozen=True)
class FieldDef:
    key: str
    label: Label
    audience: str


@dataclass(frozen=True, eq=False)
class Capability:
    key: str
    label: Label
    group: str
    applies_to: tuple[str, ...]
    kind: str
    audience: str
    options: dict[str, Label] = field(default_factory=dict)


# What people write in spreadsheets and surveys, normalised (NFKC, lower case).
LEVEL_WORDS = {
    "active": "active",
    "積極的受入": "active",
    "積極的に受入": "active",
    "積極的受け入れ": "active",
    "◎": "active",
    "積極的に対応": "active",
    "積極対応": "active",
    "accept": "accept",
    "受入": "accept",
    "受入可": "accept",
    "受け入れ": "accept",
    "受け入れ可": "accept",
    "可": "accept",
    "対応可": "accept",
    "○": "accept",
    "◯": "accept",
    "yes": "accept",
    "あり": "accept",
    "有": "accept",
    "true": "accept",
    "1": "accept",
    "行っている": "accept",
    "〇": "accept",  # U+3007 (漢数字ゼロ), often typed for ○
    "◯可": "accept",
    "○可": "accept",
    "対応可能": "accept",
    "可能": "accept",
    "受入可能": "accept",
    "有り": "accept",
    "アリ": "accept",
    "はい": "accept",
    "対応": "accept",
    "対応している": "accept",
    "対応あり": "accept",
    "実施": "accept",
    "実施可": "accept",
    "実施している": "accept",
    "できる": "accept",
    "✓": "accept",
    "✔": "accept",
    "レ": "accept",
    "consult": "consult",
    "要相談": "consult",
    "相談": "consult",
    "応相談": "consult",
    "△": "consult",
    "相談可": "consult",
    "要相談可": "consult",
    "相談に応じる": "consult",
    "ご相談ください": "consult",
    "要問合せ": "consult",
    "要問い合わせ": "consult",
    "条件付き可": "consult",
    "条件付可": "consult",
    "一部可": "consult",
    "一部対応": "consult",
    "場合による": "consult",
    "ケースによる": "consult",
    "no": "no",
    "不可": "no",
    "×": "no",
    "✕": "no",
    "なし": "no",
    "無": "no",
    "false": "no",
    "0": "no",
    "行っていない": "no",
    "対応不可": "no",
    "不可能": "no",
    "無し": "no",
    "ナシ": "no",
    "いいえ": "no",
    "非対応": "no",
    "未対応": "no",
    "対応なし": "no",
    "対応していない": "no",
    "実施していない": "no",
    "できない": "no",
    "受入不可": "no",
    "unknown": UNKNOWN,
    "不明": UNKNOWN,
    "不明(未回答)": UNKNOWN,
    "未回答": UNKNOWN,
    "?": UNKNOWN,
}
FLAG_WORDS = {
    "yes": "yes",
    "true": "yes",
    "1": "yes",
    "あり": "yes",
    "有": "yes",
    "○": "yes",
    "◯": "yes",
    "可": "yes",
    "届出あり": "yes",
    "受理": "yes",
    "済": "yes",
    "〇": "yes",
    "有り": "yes",
    "はい": "yes",
    "届出済": "yes",
    "届出有": "yes",
    "実施": "yes",
    "対応可": "yes",
    "✓": "yes",
    "✔": "yes",
    "no": "no",
    "false": "no",
    "0": "no",
    "なし": "no",
    "無": "no",
    "×": "no",
    "✕": "no",
    "不可": "no",
    "無し": "no",
    "いいえ": "no",
    "届出なし": "no",
    "対応不可": "no",
    "unknown": UNKNOWN,
    "不明": UNKNOWN,
    "未回答": UNKNOWN,
}


_SPACES = re.compile(r"\s+")
# spellings of one word: 受け入れ / 受入れ / 受入, 出来る / できる
_SPELLINGS = (("受け入れ", "受入"), ("受入れ", "受入"), ("出来", "でき"))


def normalise_word(text: str) -> str:
    """NFKC (full-width → half-width), no spaces at all (「対応 可」, 「要 相談」), no closing
    「。」 or surrounding brackets (「（要相談）」), lower case, one spelling of 受入: the form survey words are compared in."""
    word = (
        _SPACES.sub("", unicodedata.normalize("NFKC", text)).rstrip("。.").strip("()[]「」【】『』")
    )
    word = word.lower()
    for variant, spelling in _SPELLINGS:
        word = word.replace(variant, spelling)
    return word


# the tables in the compared form (so 「受け入れ可」 and 「受入可」 are one key)
LEVEL_WORDS = {normalise_word(k): v for k, v in LEVEL_WORDS.items()}
FLAG_WORDS = {normalise_word(k): v for k, v in FLAG_WORDS.items()}


def parse_capability_value(
    cap: Capability, levels: Sequence[Level], key: str, raw: Any, note: str | None
) -> dict[str, Any] | None:
    """One answer for ``cap`` as stored (see :meth:`Taxonomy.parse_value`); ``levels`` name
    the acceptance levels in the error message."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {"level": UNKNOWN, "note": note} if note and cap.kind in ("level", "flag") else None
    result: dict[str, Any]
    if cap.kind == "level":
        word = normalise_word(str(raw))
        level = LEVEL_WORDS.get(word)
        if level is None:
            accepted = ", ".join(
                [lv.key for lv in levels] + [lv.label.ja for lv in levels] + [UNKNOWN]
            )
            raise ValueError(
                f"{raw!r} is not an acceptance level for {key}; expected one of {accepted}"
            )
        result = {"level": level}
    elif cap.kind == "flag":
        word = normalise_word(str(raw))
        level = FLAG_WORDS.get(word)
        if level is None:
            raise ValueError(
                f"{raw!r} is not yes/no for {key}; expected yes, no, あり, なし, ○, × or unknown"
            )
        result = {"level": level}
    elif cap.kind == "choice":
        option = _option(cap, str(raw))
        if option is None:
            raise ValueError(
                f"{raw!r} is not an option of {key}; expected one of {', '.join(cap.options)}"
            )
        result = {"value": option}
    elif cap.kind == "ranked":
        items = raw if isinstance(raw, list) else [p for p in split_list(str(raw)) if p]
        ranked: list[str] = []
        for item in items:
            option = _option(cap, str(item))
            if option is None:
                raise ValueError(
                    f"{item!r} is not an option of {key}; expected one of {', '.join(cap.options)}"
                )
            if option not in ranked:
                ranked.append(option)
        result = {"value": ranked}
    else:
        result = {"value": str(raw).strip()}
    if note:
        result["note"] = note
    return result


def _option(cap: Capability, raw: str) -> str | None:
    word = normalise_word(raw)
    for key, label in cap.options.items():
        if word in (key, normalise_word(label.ja), normalise_word(label.en)):
            return key
    return None


def split_list(text: str) -> list[str]:
    """A ranked answer written as one cell: 、 ; | / and full-width commas count as commas."""
    for sep in ("、", ";", "；", "，", "|", "/"):
        text = text.replace(sep, ",")
    return [part.strip() for part in text.split(",")]

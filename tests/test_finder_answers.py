"""The finder reads each provider's capability answers from the index's shared answers
(mapsvc.finder.answers): exactly what the provider's own stored text says, for plain
levels, answers with notes, look-alike values, empty and absent answers, beyond the
table's size, in the index built in memory and in the mapped one."""

from __future__ import annotations

from search_support import frame, provider_row

from mapsvc.core.filters import FilterSet, parse_filters
from mapsvc.core.taxonomy import load_taxonomy
from mapsvc.finder import answers
from mapsvc.finder.answers import answers_of
from mapsvc.finder.index import build_index
from mapsvc.finder.index_file import read_index, write_index
from mapsvc.finder.search import find_providers

TAX = load_taxonomy("layers")
KEYS = ["night_response", "terminal_care", "home_visit_medical"]
ANSWERS = [
    {"night_response": {"level": "accept"}, "terminal_care": {"level": "active"}},
    {"night_response": {"level": "accept", "note": "平日のみ"}},
    {"night_response": {"note": "平日のみ", "level": "accept"}},  # same items, other order
    {"night_response": {"level": 1}, "terminal_care": {"level": 1.0}},
    {"night_response": {"level": True}, "terminal_care": {"level": None}},
    {"night_response": {}, "terminal_care": None},
    {},
    None,
    {"night_response": {"level": "accept"}, "unknown_key": {"level": "accept"}},
]


def _indexes(tmp_path):
    rows = [provider_row(f"p{i}", capabilities=c) for i, c in enumerate(ANSWERS)]
    built = build_index(frame(*rows), TAX)
    mapped = read_index(write_index(built, tmp_path / "idx"), TAX)
    return built, mapped


def _expected(index, pos):
    caps = index.capabilities(pos)
    return tuple(caps.get(k) for k in KEYS)


def test_shared_answers_are_what_each_provider_stored(tmp_path):
    for index in _indexes(tmp_path):
        positions = list(range(len(index)))
        got = answers_of(index, positions, KEYS)
        for pos in positions:
            assert got[pos] == _expected(index, pos)
            # the same value and the same kind of value (1, 1.0 and true stay apart)
            assert [repr(v) for v in got[pos]] == [repr(v) for v in _expected(index, pos)]
        assert got[1][0] == {"level": "accept", "note": "平日のみ"}
        assert list(got[2][0]) == ["note", "level"]
        assert answers_of(index, [0, 8], []) == [(), ()]


def test_answers_beyond_the_table_are_read_from_the_provider(tmp_path, monkeypatch):
    monkeypatch.setattr(answers, "MAX_SHARED", 2)
    for index in _indexes(tmp_path):
        assert (index.answer_ids == answers.UNSHARED).any()
        positions = list(range(len(index)))
        got = answers_of(index, positions, KEYS)
        assert got == [_expected(index, pos) for pos in positions]


def test_the_finder_shows_the_stored_answers_as_levels_and_reasons(tmp_path):
    filters = parse_filters(["night_response"], None, TAX)
    for index in _indexes(tmp_path):
        result = find_providers(index, *index.lon[:1], *index.lat[:1], filters, seed=3)
        assert result.matches
        for match in result.matches:
            stored = index.capabilities(match.pos).get("night_response")
            assert match.answers == (stored,)
            assert "受入" in match.reasons[0].ja
        none = find_providers(index, *index.lon[:1], *index.lat[:1], FilterSet(), seed=3)
        assert all(m.answers == () for m in none.matches)

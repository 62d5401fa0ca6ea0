"""The docs follow the code: every ``mapsvc/…`` path named in README.md, docs/*.md and the
wing READMEs exists, and every dotted ``mapsvc.…`` Python name resolves (a module, or an
attribute of one), so a move or a rename cannot leave the guides pointing at nothing. The
same holds for docstrings and comments in mapsvc/, scripts/, templates and layers/."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted(
    [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "mapsvc").glob("*/README.md")]
)
SOURCES = sorted(
    [
        *(ROOT / "mapsvc").rglob("*.py"),
        *(ROOT / "mapsvc" / "templates").rglob("*.html"),
        *(ROOT / "scripts").glob("*.py"),
        *(ROOT / "layers").rglob("*.yaml"),
    ]
)
FILE_NAMES = {"mapsvc.toml", "mapsvc.sqlite"}  # the instance's files, not Python names
PATH = re.compile(r"(?<![\w/.])mapsvc/[\w/.]*\w")
DOTTED = re.compile(r"(?<![\w/.])mapsvc(?:\.\w+)+")


def _references(pattern: re.Pattern[str], files: list[Path] = DOCS) -> list[tuple[str, str]]:
    return [
        (f"{doc.relative_to(ROOT)}:{n}", match)
        for doc in files
        for n, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1)
        if not line.lstrip().startswith(("import ", "from "))  # imports are checked by importing
        for match in pattern.findall(line)
        if match not in FILE_NAMES
    ]


def missing_paths(refs: list[tuple[str, str]]) -> list[str]:
    return [f"{where}: {path}" for where, path in refs if not (ROOT / path).exists()]


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            if not hasattr(target, name):
                return False
            target = getattr(target, name)
        return True
    return False


def unresolved_names(refs: list[tuple[str, str]]) -> list[str]:
    return [f"{where}: {name}" for where, name in refs if not _resolves(name)]


def test_the_docs_are_found() -> None:
    assert ROOT / "README.md" in DOCS and len(DOCS) >= 8
    assert len(_references(PATH)) > 10 and len(_references(DOTTED)) > 10


def test_every_mapsvc_path_in_the_docs_exists() -> None:
    problems = missing_paths(_references(PATH))
    assert not problems, "paths named in the docs that do not exist:\n" + "\n".join(problems)


def test_every_mapsvc_python_name_in_the_docs_resolves() -> None:
    problems = unresolved_names(_references(DOTTED))
    assert not problems, "Python names in the docs that do not import:\n" + "\n".join(problems)


def test_docstrings_and_comments_name_current_paths_and_modules() -> None:
    problems = missing_paths(_references(PATH, SOURCES)) + unresolved_names(
        _references(DOTTED, SOURCES)
    )
    assert not problems, "stale names in docstrings or comments:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see `mapsvc/search.py`", "mapsvc/search.py"),  # moved to mapsvc/finder/
        ("in `mapsvc/core/nothing_here.py`", "mapsvc/core/nothing_here.py"),
    ],
)
def test_a_stale_path_is_named(text: str, expected: str) -> None:
    assert missing_paths([("x.md:1", m) for m in PATH.findall(text)]) == [f"x.md:1: {expected}"]


@pytest.mark.parametrize(
    "name",
    [
        "mapsvc.coverage.compute_coverage",
        "mapsvc.core.taxonomy.no_such_name",
        "mapsvc.planner_inputs",
    ],
)
def test_a_stale_python_name_is_named(name: str) -> None:
    assert unresolved_names([("x.md:1", name)]) == [f"x.md:1: {name}"]


def test_current_names_resolve() -> None:
    assert (
        unresolved_names(
            [
                ("x.md:1", "mapsvc.core.taxonomy.load_taxonomy"),
                ("x.md:2", "mapsvc.upkeep.survey_form"),
            ]
        )
        == []
    )

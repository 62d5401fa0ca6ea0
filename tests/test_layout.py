"""The folders are the product's rooms: each wing imports only what its README allows.

Rules (also in each wing's README.md):
- ``core`` imports nothing else of mapsvc; ``geo`` imports only ``core``.
- ``ingest``, ``finder``, ``planner`` and ``upkeep`` import ``core`` and ``geo`` (and
  ``upkeep`` the ``ingest`` wing: returned templates go through the importer); ``finder`` and
  ``planner`` never import each other; no wing imports ``web``, ``commands`` or ``demo``.
- Nothing under mapsvc/ but ``web/`` imports Flask (flask, flask_login, flask_wtf, werkzeug)
  at run time (``if TYPE_CHECKING:`` imports are annotations only).
- ``commands`` may import everything, ``web`` too (``mapsvc serve``); ``demo`` all but web.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mapsvc"
WINGS = ("core", "geo", "ingest", "finder", "planner", "upkeep")
ALLOWED: dict[str, set[str]] = {
    "core": {"core"},
    "geo": {"core", "geo"},
    "ingest": {"core", "geo", "ingest"},
    "finder": {"core", "geo", "finder"},
    "planner": {"core", "geo", "planner"},
    "upkeep": {"core", "geo", "ingest", "upkeep"},
    "demo": {"core", "geo", "ingest", "finder", "planner", "upkeep", "demo"},
    # commands sit beside web on top; `mapsvc serve` starts the web app
    "commands": {"core", "geo", "ingest", "finder", "planner", "upkeep", "demo", "commands", "web"},
}
FLASK = ("flask", "flask_login", "flask_wtf", "werkzeug")


def _module_of(path: Path) -> list[str]:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _imported(path: Path, tree: ast.AST) -> list[tuple[int, str]]:
    """Every module an import statement names (relative ones resolved), with its line."""
    here = _module_of(path)
    package = here if path.name == "__init__.py" else here[:-1]
    found: list[tuple[int, str]] = []
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If)
        and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING")
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue  # annotations only: no import at run time
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # "from mapsvc import web" names the wing in the alias
            if module == "mapsvc":
                found += [(node.lineno, f"mapsvc.{a.name}") for a in node.names]
    return found


def violations(path: Path, source: str) -> list[str]:
    """The layout rules one file breaks, each as 'file:line: rule'."""
    rel = path.relative_to(PACKAGE.parent)
    here = _module_of(path)
    room = here[1] if len(here) > 1 else ""
    problems: list[str] = []
    for line, module in _imported(path, ast.parse(source, filename=str(path))):
        top = module.split(".")
        if top[0] in FLASK and room != "web":
            problems.append(
                f"{rel}:{line}: only mapsvc/web/ imports {top[0]} (found in {room or 'mapsvc'})"
            )
        if top[0] != "mapsvc" or len(top) < 2 or room not in ALLOWED:
            continue
        target = top[1]
        if target in ALLOWED or target in ("web",) or target in WINGS:
            if target not in ALLOWED[room]:
                allowed = ", ".join(sorted(ALLOWED[room]))
                problems.append(
                    f"{rel}:{line}: {room} imports {module}; {room} may import only {allowed}"
                )
    return problems


def _all_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_keeps_the_import_rules() -> None:
    problems = [v for p in _all_files() for v in violations(p, p.read_text(encoding="utf-8"))]
    assert not problems, "layout rules broken:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    ("where", "source", "expected"),
    [
        (
            "finder/bad.py",
            "from mapsvc.planner.coverage import run\n",
            "finder imports mapsvc.planner.coverage",
        ),
        (
            "planner/bad.py",
            "x = 1\nfrom ..finder import search\n",
            "planner/bad.py:2: planner imports mapsvc.finder",
        ),
        (
            "core/bad.py",
            "def f():\n    from mapsvc.geo import areas\n",
            "core/bad.py:2: core imports mapsvc.geo",
        ),
        ("geo/bad.py", "import flask\n", "only mapsvc/web/ imports flask"),
        ("upkeep/bad.py", "from mapsvc.web.auth import actor\n", "upkeep imports mapsvc.web.auth"),
        (
            "ingest/bad.py",
            "from ..commands import registry_cmds\n",
            "ingest imports mapsvc.commands",
        ),
    ],
)
def test_a_wrong_import_is_named_with_file_line_and_rule(
    where: str, source: str, expected: str
) -> None:
    found = violations(PACKAGE / where, source)
    assert any(expected in v for v in found), found


def test_allowed_imports_pass() -> None:
    assert (
        violations(
            PACKAGE / "finder" / "ok.py", "from mapsvc.geo import areas\nfrom ..core import codes\n"
        )
        == []
    )
    assert (
        violations(PACKAGE / "web" / "ok.py", "import flask\nfrom mapsvc.planner import coverage\n")
        == []
    )


def test_every_wing_has_a_readme() -> None:
    for wing in WINGS:
        readme = PACKAGE / wing / "README.md"
        assert readme.is_file(), f"mapsvc/{wing}/README.md is missing"
        assert 5 <= len(readme.read_text(encoding="utf-8").strip().splitlines()) <= 20

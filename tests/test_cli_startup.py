"""The command line starts without the heavy libraries: each command imports what it uses
when it runs (issue 13, "instant CLI"). Timing lives in scripts/bench_cli.py; these tests
check what is imported, which does not depend on how busy the machine is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# never imported by `import mapsvc.cli`, `mapsvc --help`, `mapsvc formats` or any --help
HEAVY = (
    "geopandas",
    "osmnx",
    "dask",
    "matplotlib",
    "pandas",
    "shapely",
    "numpy",
    "scipy",
    "networkx",
    "pyproj",
    "sqlalchemy",
    "flask",
)


def _run(code: str, tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAPSVC_")}
    env["PYTHONPATH"] = str(ROOT)
    env["MAPSVC_INSTANCE_PATH"] = str(tmp_path / "instance")
    return subprocess.run(
        [sys.executable, *flags, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=True,
    )


def _top_level(importtime_stderr: str) -> set[str]:
    """Top-level package names in ``-X importtime`` output."""
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            module = line.rsplit("|", 1)[1].strip()
            names.add(module.split(".")[0])
    return names


def test_importing_the_cli_pulls_in_no_heavy_library(tmp_path):
    result = _run("import mapsvc.cli", tmp_path, "-X", "importtime")
    imported = _top_level(result.stderr)
    assert "mapsvc" in imported and "click" in imported  # the parse saw the imports
    assert sorted(imported & set(HEAVY)) == []


_EVERY_HELP = """
import json, sys
import click
from mapsvc.cli import main

def walk(group, path):
    yield path
    if isinstance(group, click.Group):
        for name, cmd in sorted(group.commands.items()):
            yield from walk(cmd, [*path, name])

paths = list(walk(main, []))
for path in paths:
    try:
        main.main([*path, "--help"], prog_name="mapsvc", standalone_mode=False)
    except SystemExit:
        pass
try:
    main.main(["formats"], prog_name="mapsvc", standalone_mode=False)
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[1].split(",")))
print(json.dumps({"helps": len(paths), "heavy": heavy}))
"""


def test_every_help_and_formats_stay_light(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAPSVC_")}
    env["PYTHONPATH"] = str(ROOT)
    env["MAPSVC_INSTANCE_PATH"] = str(tmp_path / "instance")
    result = subprocess.run(
        [sys.executable, "-c", _EVERY_HELP, ",".join(HEAVY)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=True,
    )
    lines = result.stdout.strip().splitlines()
    report = json.loads(lines[-1])
    assert "generic" in result.stdout  # `formats` listed the shipped formats
    assert report["helps"] > 20  # every group and command printed its help
    assert report["heavy"] == []


def test_choices_spelled_out_in_the_commands_match_their_source():
    from mapsvc.commands import areas_cmds, users_cmds
    from mapsvc.core.users import ROLES
    from mapsvc.geo.areas import AREA_KINDS

    assert areas_cmds.AREA_KINDS == AREA_KINDS
    assert users_cmds.ROLES == ROLES

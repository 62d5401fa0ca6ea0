"""Print (or --write into README.md) the configuration table generated from mapsvc.core.config.

README.md keeps the table between the markers <!-- settings:start --> and
<!-- settings:end -->; tests/test_codes_config.py checks it is current.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from mapsvc.core.config import PACKAGE_DIR, describe_settings

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def table() -> str:
    lines = ["| setting | default | what it does |", "| --- | --- | --- |"]
    for s in describe_settings():
        default = s["default"]
        if s["name"] == "MAPSVC_SECRET_KEY":
            shown = "(generated)"
        elif default in ("", None):
            shown = "(empty)"
        else:
            shown = "`" + str(default).replace(str(PACKAGE_DIR.parent), "<checkout>") + "`"
        lines.append(f"| `{s['name']}` | {shown} | {s['help'].replace('|', '/')} |")
    return "\n".join(lines)


def render(readme: str) -> str:
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    return pattern.sub(lambda _: f"{START}\n{table()}\n{END}", readme)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update README.md in place")
    args = parser.parse_args()
    if args.write:
        README.write_text(render(README.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print(table())


if __name__ == "__main__":
    main()

"""Import every real provider file under ../shared/data/real and print (or --write into
docs/formats.md between its markers) the table: file, format, rows, inserted, rejected,
warnings, top reasons. City-own files are imported with the mapping `mapping suggest`
writes (with --type where the test suite passes one). Each file gets a fresh SQLite store.

Usage: python scripts/real_files_table.py [--write]
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import REAL  # noqa: E402
from test_mapping_suggest import CASES  # noqa: E402
from test_real_files import SPOTS  # noqa: E402

from mapsvc.core.services import Services  # noqa: E402
from mapsvc.ingest.importer import import_file  # noqa: E402
from mapsvc.ingest.suggest import render, suggest_mapping  # noqa: E402

BEGIN = "<!-- real-files-table:begin -->"
END = "<!-- real-files-table:end -->"


def one(name: str, tmp: Path) -> str:
    services = Services.from_config(
        {
            "INSTANCE_PATH": str(tmp / "instance"),
            "DATABASE_URL": f"sqlite:///{tmp}/db.sqlite",
            "GEOCODERS": "cache",
            "SECRET_KEY": "table",
        }
    )
    services.store.upgrade()
    path = REAL / name
    mapping = None
    how = "detected"
    if name in CASES:
        provider_type = CASES[name][0]
        result, notes = suggest_mapping(path, services.taxonomy, provider_type=provider_type)
        mapping = tmp / "mapping.yaml"
        mapping.write_text(render(result, notes, path), encoding="utf-8")
        how = "suggested" + (f" --type {provider_type}" if provider_type else "")
    rejects = tmp / "rejects.csv"
    report = import_file(
        services.store,
        path,
        services.taxonomy,
        mapping_path=mapping,
        rejects_path=rejects,
        instance_path=tmp / "instance",
    )
    reasons: Counter[str] = Counter()
    if rejects.exists():
        for row in csv.DictReader(rejects.open(encoding="utf-8-sig")):
            reason = row["reason"]
            reason = reason.split(" (first on line")[0].split("'")[0].strip()
            reasons[reason[:70]] += 1
    top = "; ".join(f"{n} × {r}" for r, n in reasons.most_common(3)) or "—"
    warnings = "; ".join(f"{n} × {r}" for r, n in report.warnings.items()) or "—"
    fmt = report.format if how == "detected" else f"{report.format} ({how})"
    services.close()
    return (
        f"| {name} | {fmt} | {report.rows} | {report.inserted} | {report.unchanged} | "
        f"{report.rejected} | {warnings} | {top} |"
    )


def table() -> str:
    lines = [
        "| file | format | rows | inserted | merged | rejected | warnings | top reject reasons |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for name in sorted(SPOTS) + sorted(CASES):
        with tempfile.TemporaryDirectory() as tmp:
            lines.append(one(name, Path(tmp)))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="update docs/formats.md")
    args = parser.parse_args()
    if not REAL.exists():
        sys.exit(f"{REAL} is absent: no real files to import")
    text = table()
    if not args.write:
        print(text)
        return
    doc = ROOT / "docs" / "formats.md"
    body = doc.read_text(encoding="utf-8")
    start, end = body.index(BEGIN) + len(BEGIN), body.index(END)
    doc.write_text(body[:start] + "\n" + text + "\n" + body[end:], encoding="utf-8")
    print(f"updated {doc}")


if __name__ == "__main__":
    main()

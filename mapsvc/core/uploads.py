"""Where an uploaded file is kept: its own new folder, under its original (Unicode) name.

``secure_filename`` drops every non-ASCII character, so 「訪問看護_回答.xlsx」 became ``xlsx``
and was refused; and two uploads in the same second with the same name overwrote each other.
Now the folder is generated (time stamp + random part, created exclusively) and the name is
the original one with only path separators and control characters removed, so the import
report and history show what the editor uploaded and no upload ever replaces another.
"""

from __future__ import annotations

import secrets
import unicodedata
from datetime import datetime
from pathlib import Path

from mapsvc.core.errors import InvalidInput

MAX_NAME = 120


def upload_name(raw: str | None) -> str:
    """The original file name, made safe to keep (no folders, no control characters).

    Raises
    ------
    InvalidInput
        ``field="file"``: nothing usable is left of the name.
    """
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip(" .")
    if len(name) > MAX_NAME:
        stem, dot, suffix = name.rpartition(".")
        name = (stem[: MAX_NAME - len(suffix) - 1] + dot + suffix) if dot else name[:MAX_NAME]
    if not name:
        raise InvalidInput("the file has no usable name", field="file")
    return name


def new_upload_path(folder: Path, raw_name: str | None, now: datetime) -> Path:
    """A path in a newly created folder of ``folder`` for the upload (never an existing one)."""
    name = upload_name(raw_name)
    folder.mkdir(parents=True, exist_ok=True)
    while True:
        target = folder / f"{now:%Y%m%dT%H%M%S}-{secrets.token_hex(4)}"
        try:
            target.mkdir()
        except FileExistsError:
            continue
        return target / name

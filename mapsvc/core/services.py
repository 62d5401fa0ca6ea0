"""The objects every entry point needs, built once from the configuration.

The CLI and the Flask app both build a :class:`Services` from ``load_config()``; domain
functions receive what they need from it as plain arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from mapsvc.core.config import load_config
from mapsvc.core.db import Store
from mapsvc.core.taxonomy import Taxonomy, cached_taxonomy


@dataclass
class Services:
    config: dict[str, Any]
    _store: Store | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, overrides: dict[str, Any] | None = None) -> Services:
        return cls(load_config(overrides))

    @property
    def instance_path(self) -> Path:
        return Path(self.config["INSTANCE_PATH"])

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.config["DATABASE_URL"])
        return self._store

    @cached_property
    def taxonomy(self) -> Taxonomy:
        return cached_taxonomy(str(Path(self.config["LAYERS_DIR"]) / "taxonomy.yaml"))

    def close(self) -> None:
        if self._store is not None:
            self._store.dispose()
            self._store = None

"""The objects every entry point needs, built once from the configuration.

The CLI and the Flask app both build a :class:`Services` from ``load_config()``; domain
functions receive what they need from it as plain arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mapsvc.core.config import load_config

if TYPE_CHECKING:  # the store (SQLAlchemy) and taxonomy are imported when first used,
    # so the CLI starts fast
    from mapsvc.core.db import Store
    from mapsvc.core.taxonomy import Taxonomy


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
            from mapsvc.core.db import Store

            self._store = Store(self.config["DATABASE_URL"])
        return self._store

    @cached_property
    def taxonomy(self) -> Taxonomy:
        from mapsvc.core.taxonomy import cached_taxonomy

        return cached_taxonomy(str(Path(self.config["LAYERS_DIR"]) / "taxonomy.yaml"))

    def close(self) -> None:
        if self._store is not None:
            self._store.dispose()
            self._store = None

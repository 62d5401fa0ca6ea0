"""Error hierarchy shared by domain modules, the CLI and the web layer.

Each error carries an HTTP status and a message that is safe to show to the person who
caused it. Messages never contain professional-only fields or an address somebody typed.
"""

from __future__ import annotations

from typing import Any


class MapsvcError(Exception):
    """Base class: ``status`` is the HTTP status, ``field`` names the bad input if any."""

    status: int = 500
    code: str = "error"

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """One JSON error shape for every API response."""
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        body.update(self.details)
        return body


class NotFound(MapsvcError, LookupError):
    status = 404
    code = "not_found"


class InvalidInput(MapsvcError, ValueError):
    """A request parameter or form field is malformed or out of range."""

    status = 400
    code = "invalid_input"


class InvalidFilter(InvalidInput):
    code = "invalid_filter"


class InvalidConfig(MapsvcError, ValueError):
    code = "invalid_config"


class InvalidLayerDefinition(MapsvcError, ValueError):
    """A taxonomy or layer file is broken; the message names file, key and problem."""

    code = "invalid_layer_definition"


class InvalidMapping(MapsvcError, ValueError):
    """An import mapping file is broken; the message names file, key and problem."""

    code = "invalid_mapping"


class ImportFailed(MapsvcError):
    """A data file cannot be imported at all; nothing was written."""

    status = 400
    code = "import_failed"


class DataUnavailable(MapsvcError):
    """Something the request needs (network, population, store) is not loaded."""

    status = 409
    code = "data_unavailable"


class StoreBusy(MapsvcError):
    """The store is locked by another writer for longer than the busy timeout."""

    status = 503
    code = "store_busy"


class Forbidden(MapsvcError):
    status = 403
    code = "forbidden"


class Conflict(MapsvcError):
    status = 409
    code = "conflict"

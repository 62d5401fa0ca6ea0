"""The planner's pages, JSON endpoints (views) and downloads and report (exports)."""

from mapsvc.web.planner import exports, scenarios, views  # noqa: F401  (routes register on bp)
from mapsvc.web.planner._common import bp

__all__ = ["bp"]

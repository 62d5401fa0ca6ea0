"""The planner's pages, JSON endpoints (views), chart data (charts), downloads
(exports) and the printable report (report_view)."""

from mapsvc.web.planner import (  # noqa: F401  (routes register on bp)
    charts,
    exports,
    report_view,
    scenarios,
    views,
)
from mapsvc.web.planner._common import bp

__all__ = ["bp"]

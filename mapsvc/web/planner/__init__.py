"""The planner's pages, JSON endpoints (views), chart data (charts), downloads
(exports) and the printable report (report_view)."""

from mapsvc.web.planner import charts, exports, report_view, views  # noqa: F401  (routes register on bp)
from mapsvc.web.planner._common import bp

__all__ = ["bp"]

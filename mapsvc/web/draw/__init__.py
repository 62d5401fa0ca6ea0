"""Drawing on the map (issue 12): the area editor and providers' explicit service areas.

* ``/planner/areas/`` (planner and editor roles): draw, edit, split, merge, fit, save and undo
  日常生活圏域, 二次医療圏 parts and custom areas (:mod:`.areas`);
* ``/admin/providers/<uid>/service-area`` (editor role): draw a provider's polygon or pick
  areas (:mod:`.provider_areas`).

JSON endpoints live under ``…/api/…`` (errors as JSON naming the field); every POST needs the
CSRF token (``X-CSRFToken`` header, from the page's ``csrf-token`` meta tag). The domain
logic is in :mod:`mapsvc.geo.area_edit`, :mod:`mapsvc.geo.area_store` and
:mod:`mapsvc.geo.provider_area`; these views only parse, call and render.
"""

from mapsvc.web.draw import areas, provider_areas  # noqa: F401  (routes register on bp)
from mapsvc.web.draw._common import bp

__all__ = ["bp"]

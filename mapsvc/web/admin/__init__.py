"""Admin view ``/admin`` for editors (municipal data owners).

Dashboard, review queue, survey links and templates, audit log, import history, users.
Every view needs the editor role; every form is CSRF-protected. The views are thin: each
calls the domain modules (``dashboard``, ``review``, ``survey``, ``reconfirm``,
``survey_templates``, ``auditlog``, ``users``) and renders the result. The blueprint and the
shared helpers are in ``_common``; the views in ``dashboard``, ``links``, ``records`` and
``review`` register on it.
"""

from mapsvc.web.admin import dashboard, links, records, review, tokens  # noqa: F401  (routes register on bp)
from mapsvc.web.admin._common import bp

__all__ = ["bp"]

"""The local web workbench (``auditor serve``): upload a facility list, review how it is read, audit
it, see the results on a map and download every report — in Chinese and English, for people who do
not use a terminal. Needs the ``web`` extra (``pip install 'pilot-zone-auditor[web]'``).

    app.py        the Starlette application (:func:`create_app`), its pages and its guards
    workspace.py  sessions, uploads and jobs, and their folders
    intake.py     an upload made ready to read (a profile pointed at its uploaded list)
    review.py     the reading shown before the audit, and column corrections
    jobs.py       audits in a worker thread (progress, cancel) and the downloads made from them
    results.py    the results table, filters and the map's GeoJSON
    i18n.py       the pages' words in zh-CN and en
    templates/    Jinja2 pages (autoescape on); static/: styles, script, Leaflet (BSD-2-Clause)

Importing this package starts nothing; :func:`create_app` builds the application.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["REQUIRED_MODULES", "create_app"]

#: The modules the workbench needs (the ``web`` extra), by import name.
REQUIRED_MODULES = ("starlette", "uvicorn", "jinja2", "multipart")


def create_app(*args: Any, **kwargs: Any) -> Starlette:
    """The workbench application; see :func:`auditor.web.app.create_app`."""
    from auditor.web.app import create_app as build

    return build(*args, **kwargs)

"""An upload made ready to read: the facility list, or an operator profile rewritten to point at its
uploaded list, and the waivers file checked.

An uploaded profile comes from the operator being audited, so what it says about the server's own
files is not followed: its ``facilities`` path is replaced by the uploaded list, and its
``evidence`` section (files and servers on the machine the workbench runs on) is left out, with a
note on the review page. Everything else in it is data and is audited as ``auditor audit`` would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor.config import IN_MEMORY_ROWS
from auditor.errors import InputError
from auditor.web.workspace import LIST_SUFFIXES, Upload

__all__ = ["EVIDENCE_NOTE", "MAX_LIST_ROWS", "prepare_upload"]

#: the longest list the workbench audits: it holds an audit in memory (auditor.config.IN_MEMORY_ROWS),
#: and keeps each finished one for its pages; longer lists are for ``auditor audit``, which streams them
MAX_LIST_ROWS = IN_MEMORY_ROWS

EVIDENCE_NOTE = ("the profile's evidence section (files and servers) is not used in the workbench: "
                 "the audit uses the embedded IP database and the uploaded files only")


def prepare_upload(ident: str, folder: Path, *, main_name: str, main_path: Path, list_name: str = "", list_path: Path | None = None,
                   waivers_name: str = "", waivers_path: Path | None = None, options: dict[str, Any], max_rows: int = MAX_LIST_ROWS) -> Upload:
    """An :class:`Upload` from the files stored in ``folder``. ``main_path`` is a facility list, or a
    profile (then ``list_path`` is its list); raises :class:`InputError` when they cannot be used, or
    when the list has more than ``max_rows`` rows."""
    from auditor.inventory.profile import PROFILE_SUFFIXES, load_profile, parse_profile, profile_columns

    if waivers_path is not None:
        from auditor.waivers import load_waivers

        load_waivers(waivers_path)  # a bad waivers file is refused now, not after the audit
    if main_path.suffix in PROFILE_SUFFIXES:
        if list_path is None:
            raise InputError("an operator profile needs its facility list: choose the list file too",
                             source=main_name, hint="the list types: " + ", ".join(LIST_SUFFIXES))
        _check_length(list_path, list_name, max_rows)
        _, doc = load_profile(main_path)
        doc = dict(doc)
        notes = []
        if doc.pop("evidence", None):
            notes.append(EVIDENCE_NOTE)
        doc["facilities"] = list_path.name
        columns = profile_columns(doc, main_name)
        doc.pop("columns", None)
        profile = folder / "profile.yaml"
        parse_profile({**doc, "columns": columns} if columns else doc, source=str(profile))  # checked before it is written
        upload = Upload(ident, folder, list_path, list_name, profile_path=profile, profile_name=main_name, profile_doc=doc,
                        profile_columns=columns, waivers_path=waivers_path, waivers_name=waivers_name, notes=notes, **options)
        upload.write_profile()
        if main_path != profile:
            main_path.unlink()
        return upload
    if list_path is not None:
        raise InputError("a second file is only for an operator profile's facility list", source=list_name)
    if not options.get("region"):
        raise InputError("choose the region to audit the list against", source=main_name)
    _check_length(main_path, main_name, max_rows)
    return Upload(ident, folder, main_path, main_name, waivers_path=waivers_path, waivers_name=waivers_name, **options)


def _check_length(path: Path, shown: str, max_rows: int) -> None:
    from auditor.inventory.read import more_rows_than

    if more_rows_than(path, max_rows):
        raise InputError(f"the list has over {max_rows:,} rows, more than the workbench audits (it holds an audit in memory)",
                         source=shown, hint=f"audit it with the command line, which streams a long list: auditor audit {shown} --region ...")

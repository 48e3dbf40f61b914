"""The review page's reading of an upload: what ``auditor inspect`` shows, from the same functions
(:func:`~auditor.inventory.read.read_table`, :func:`~auditor.inventory.validate.validate_rows`,
:func:`~auditor.inventory.inspect.inspect_table`), plus the first rows of the table as read, and the
column corrections made in place (``columns=``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from auditor.errors import AuditorError, InputError
from auditor.inventory.columns import CANONICAL
from auditor.web.workspace import Upload

__all__ = ["CANONICAL", "Review", "corrected_columns", "review_upload"]

#: rows of the table shown as read
PREVIEW_ROWS = 15


@dataclass(frozen=True)
class Review:
    """An upload as read: the inspection (None when the file could not be read at all) and why not."""

    inspection: Any
    headers: tuple[str, ...]
    preview: tuple[tuple[int, tuple[str, ...]], ...]
    problem: str | None
    origin: str

    @property
    def auditable(self) -> bool:
        return self.inspection is not None and not self.problem


def reading_columns(upload: Upload) -> tuple[dict[str, str], str]:
    """The column mapping the list is read with, and where it came from (for the notes)."""
    if upload.profile_path is not None:
        given = {**upload.profile_columns, **upload.columns}
        origin = "workbench / profile columns:" if upload.columns and upload.profile_columns else (
            "workbench" if upload.columns else "profile columns:")
        return given, origin
    return dict(upload.columns), "workbench"


def review_upload(upload: Upload) -> Review:
    """Read the upload's list as the audit will, and say how (never raises for a bad file: ``problem`` says why)."""
    from auditor.errors import InventoryError
    from auditor.inventory.inspect import inspect_table
    from auditor.inventory.read import read_table
    from auditor.inventory.reading import Reading
    from auditor.inventory.validate import validate_rows
    from auditor.regions import load_registry
    from auditor.resolve.address.suggest import GazetteerNames

    given, origin = reading_columns(upload)
    reading = Reading(sheet=upload.sheet, header_row=upload.header_row, columns=given, origin=origin,
                      unit_names=GazetteerNames(load_registry()))
    try:
        table = read_table(upload.list_path, reading)
    except AuditorError as exc:
        return Review(None, (), (), _message(exc, upload), origin)
    default_crs = upload.crs or _profile_crs(upload)
    try:
        facilities, problem = validate_rows(table, default_crs=default_crs), None
    except InventoryError as exc:
        facilities, problem = None, _message(exc, upload)
    seen = inspect_table(table, facilities, problem)
    preview = tuple((row, tuple(cells)) for row, cells in table.rows[:PREVIEW_ROWS])
    return Review(seen, tuple(str(h).strip() for h in table.headers), preview, problem, origin)


def _profile_crs(upload: Upload) -> str | None:
    from auditor.inventory.profile import profile_default_crs

    return profile_default_crs(upload.profile_doc) if upload.profile_doc else None


def _message(exc: AuditorError, upload: Upload) -> str:
    """The error's message with the stored file's path replaced by the name the browser sent."""
    text = str(exc)
    for path, name in ((upload.list_path, upload.list_name), (upload.profile_path, upload.profile_name)):
        if path is not None:
            text = text.replace(str(path), name or path.name)
    return text


def corrected_columns(upload: Upload, review: Review, form: Mapping[str, Any]) -> dict[str, str]:
    """The upload's ``columns=`` after the review form: ``col-<i>`` names what column ``i`` is read as
    ("" for unused). Only changed columns are recorded; a column no longer read as what it was, and
    chosen for no other column, is read from no header (``NAME=``). Two columns chosen as the same
    one are refused."""
    if review.inspection is None:
        raise InputError("the file could not be read; upload it again or set the sheet and header row")
    current = {i: c.read_as for i, c in enumerate(review.inspection.columns) if c.read_as}
    wanted: dict[int, str] = {}
    for i in range(len(review.inspection.columns)):
        value = form.get(f"col-{i}")
        if value is None:
            continue
        value = str(value).strip()
        if value and value not in CANONICAL:
            raise InputError(f"unknown column {value!r}", hint="one of: " + ", ".join(CANONICAL))
        wanted[i] = value
    chosen = [v for v in wanted.values() if v]
    twice = sorted({v for v in chosen if chosen.count(v) > 1})
    if twice:
        raise InputError(f"{', '.join(twice)} chosen for more than one column", hint="choose each column once")
    final = {i: wanted.get(i, current.get(i, "")) for i in range(len(review.inspection.columns))}
    columns = dict(upload.columns)
    for i, new in final.items():
        old = current.get(i, "")
        if new == old:
            continue
        header = review.inspection.columns[i].header
        if new:
            if not header:
                raise InputError(f"column {review.inspection.columns[i].letter} has no header, so it cannot be named",
                                 hint="set the header row so that every column you need has a name")
            columns[new] = header
        if old and old not in final.values():
            columns[old] = ""
    return columns

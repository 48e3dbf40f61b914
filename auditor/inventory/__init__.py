"""Reading and validating operator profiles and facility lists."""

from auditor.inventory.profile import load_profile
from auditor.inventory.read import RawTable, read_table
from auditor.inventory.reading import InventorySource, Reading
from auditor.inventory.validate import validate_rows

__all__ = ["InventorySource", "RawTable", "Reading", "load_profile", "read_table", "validate_rows", "load_inventory"]


def load_inventory(path, *, default_crs=None, sheet=None, header_row=None, columns=None):  # noqa: ANN001, ANN201 - re-exported with docs in auditor.api
    """Read a facility list and validate every row; see :func:`auditor.load_inventory`.

    ``sheet`` (a name, or a 1-based position), ``header_row`` (1-based) and ``columns``
    (``{"id": "节点编号", ...}`` or ``"id=节点编号,kind=类型"``) say how to read the list when the
    reader's guess should not decide. The table's ``columns`` says how each header was read.
    """
    from auditor.inventory.columns import parse_column_spec

    given = parse_column_spec(columns) if columns else {}
    table = read_table(path, Reading(sheet=sheet, header_row=header_row, columns=given))
    return table, validate_rows(table, default_crs=default_crs)

"""Reading and validating operator profiles and facility lists."""

from auditor.inventory.profile import load_profile
from auditor.inventory.read import RawTable, read_table
from auditor.inventory.validate import validate_rows

__all__ = ["RawTable", "load_profile", "read_table", "validate_rows", "load_inventory"]


def load_inventory(path, *, default_crs=None):  # noqa: ANN001, ANN201 - re-exported with docs in auditor.api
    """Read a facility list and validate every row; see :func:`auditor.load_inventory`."""
    table = read_table(path)
    return table, validate_rows(table, default_crs=default_crs)

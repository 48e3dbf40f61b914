"""A user's script, checked by mypy in `make check`: what a type checker sees through ``import auditor``.

It is not run by pytest (no test functions); `assert_type` is a no-op at run time and an error for
mypy when the type differs, so the public API stays typed for the people who use it.
"""

from __future__ import annotations

from typing import assert_type

import pandas as pd

import auditor
from auditor.api import RegionalAudit
from auditor.result import AuditResult


def check() -> None:
    result = auditor.audit("examples/shanghai-operator/operator.yaml", as_of="2026-11-01")
    assert_type(result, AuditResult | RegionalAudit)
    assert isinstance(result, auditor.AuditResult)
    assert_type(result.verdict, str)
    assert_type(result.exit_code, int)
    assert_type(auditor.where([121.5, 121.9], [31.2, 30.9], region="shanghai"), pd.DataFrame)
    assert_type(auditor.locate(["58.32.0.1"]), pd.DataFrame)
    assert_type(auditor.render(result, "json"), str)
    try:
        auditor.where(1.0, 2.0, region="mars")
    except auditor.UsageError as exc:
        assert_type(exc.option, str)

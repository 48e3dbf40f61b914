"""The audit engine: inputs → evidence → claims → containment → rules → result.

The only layer that wires I/O (readers, resolvers) to the pure core (geometry, rules), as one
pipeline run in memory or in chunks:

    plan.py     what an audit is of (target, region, date, evidence configuration)
    gather.py   evidence from every source the configuration names (resolvers)
    judge.py    claims tested for containment, every rule applied
    audit.py    the in-memory audit
    stream.py   the same judging, chunk by chunk (in this process or on Dask)
    where.py    which region a point is in; locate.py: every piece of evidence for an address

Renderers take the :class:`~auditor.result.AuditResult` it returns.
"""

from auditor.engine.audit import audit
from auditor.engine.judge import Judgement, judge, run_rules
from auditor.engine.plan import AuditPlan, load_basic_telecom, prepare
from auditor.result import NO_ROWS_WARNING, AuditResult, Tallies

__all__ = ["NO_ROWS_WARNING", "AuditPlan", "AuditResult", "Judgement", "Tallies", "audit", "judge", "load_basic_telecom",
           "prepare", "run_rules"]

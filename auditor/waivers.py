"""Waivers: an accepted, owned, dated exception to a rule for a facility (or the operator).

A waivers file is YAML::

    waivers:
      - rule: facility_in_region          # a rule id (auditor.rules.RULE_IDS)
        facility: "SH-CDN-*"              # fnmatch pattern on the facility id, or "(operator)"
        owner: ops@example.com
        reason: Node is being moved to Lingang; contract signed.
        expires: 2026-12-31               # YYYY-MM-DD; the waiver holds up to and including this day
        reference: CHG-1234
      - rule: [facility_in_region, cdn_nodes_in_region]   # several rules for one facility pattern
        facility: SH-CDN-18
        ...
      - rule: "*"                         # every rule, for one facility pattern
        facility: SH-IDC-14
        ...

``rules`` may be written for ``rule``. ``"*"`` stands alone (not in a list); every other name must
be a rule id, once.

:func:`load_waivers` reads and checks it (an :class:`~auditor.errors.InputError` naming the file
and the waiver's 1-based number for anything wrong). :func:`apply_waivers` is pure: a FAIL or
INDETERMINATE finding matched by an unexpired waiver becomes WAIVED; nothing is ever deleted.
The original status and the waiver are kept in the returned ``waived`` mapping (finding → match).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, NamedTuple

from auditor.documents import load_yaml, read_text
from auditor.errors import InputError
from auditor.model import Finding, Status

__all__ = [
    "ALL_RULES",
    "OPERATOR_SUBJECT",
    "Waiver",
    "WaiverMatch",
    "WaiverOutcome",
    "apply_waivers",
    "apply_waivers_to_result",
    "load_waivers",
    "parse_waivers",
]

OPERATOR_SUBJECT = "(operator)"
_FIELDS = ("rule", "facility", "owner", "reason", "expires", "reference")
_KEYS = (*_FIELDS, "rules")  # "rules" is another spelling of "rule"
#: The rule name that covers every rule.
ALL_RULES = "*"
_WAIVABLE = (Status.FAIL, Status.INDETERMINATE)


@dataclass(frozen=True, slots=True)
class Waiver:
    """One checked entry of a waivers file; ``number`` is its 1-based position in the file.

    ``rules`` are the rule ids it covers, or ``("*",)`` for every rule; one rule id may be given as a
    plain string (``Waiver(1, "facility_in_region", ...)``).
    """

    number: int
    rules: tuple[str, ...]
    facility: str
    owner: str
    reason: str
    expires: dt.date
    reference: str
    source: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.rules, str):
            object.__setattr__(self, "rules", (self.rules,))

    @property
    def rule(self) -> str:
        """The rules as written: one id, ``*``, or ids joined by ", "."""
        return ", ".join(self.rules)

    def covers_rule(self, rule: str) -> bool:
        return self.rules == (ALL_RULES,) or rule in self.rules

    def matches(self, finding: Finding) -> bool:
        """A rule it covers, and the subject matches: "(operator)" only the operator, a pattern only facilities."""
        if not self.covers_rule(finding.rule):
            return False
        if self.facility == OPERATOR_SUBJECT or finding.subject == OPERATOR_SUBJECT:
            return self.facility == finding.subject
        return fnmatchcase(finding.subject, self.facility)

    def expired_on(self, as_of: dt.date) -> bool:
        """True once ``as_of`` is after the expiry day (a waiver holds on its ``expires`` day)."""
        return as_of > self.expires

    def describe(self) -> str:
        if self.rules == (ALL_RULES,):
            what = "every rule"
        else:
            what = f"rule{'s' if len(self.rules) > 1 else ''} {self.rule}"
        return f"waiver {self.number} for {what} on {self.facility}"


@dataclass(frozen=True, slots=True)
class WaiverMatch:
    """A waiver applied to a finding, with the status the finding had before."""

    waiver: Waiver
    original_status: Status

    def as_dict(self) -> dict[str, Any]:
        """What a report shows for a waived finding (the proposed ``Finding.waiver`` / report ``waiver`` key)."""
        w = self.waiver
        return {
            "original_status": self.original_status.value,
            "rules": list(w.rules),
            "owner": w.owner,
            "reason": w.reason,
            "expires": w.expires.isoformat(),
            "reference": w.reference,
            "waiver": w.number,
            "pattern": w.facility,
            "source": w.source,
        }


class WaiverOutcome(NamedTuple):
    """What :func:`apply_waivers` returns: the findings (same order, some now WAIVED), the matches, notes."""

    operator_findings: list[Finding]
    facility_findings: dict[str, list[Finding]]
    waived: dict[Finding, WaiverMatch]
    notes: list[str]


# --------------------------------------------------------------------------- loading


#: Thousands of waivers fit in a megabyte; 16 MB is far beyond any real file.
MAX_WAIVERS_BYTES = 16 << 20


def load_waivers(path: str | Path) -> list[Waiver]:
    """Read and check a waivers file; every problem is an InputError naming the file and the waiver."""
    p = Path(path)
    source = str(path)
    if not p.exists():
        raise InputError("waivers file not found", source=source)
    text = read_text(p, what="waivers file", max_bytes=MAX_WAIVERS_BYTES)
    return parse_waivers(load_yaml(text, source=source, what="waivers file"), source=source)


def parse_waivers(doc: Any, *, source: str = "<waivers>") -> list[Waiver]:
    """Check an already-parsed waivers document (``{"waivers": [...]}``)."""
    from auditor.rules import RULE_IDS

    example = "waivers: [{rule, facility, owner, reason, expires, reference}] (rule: an id, a list of ids, or \"*\")"
    if doc is None:
        raise InputError("the waivers file is empty", source=source, hint=f"write {example}")
    if not isinstance(doc, Mapping):
        raise InputError("the top level must be a mapping with the key 'waivers'", source=source, hint=f"write {example}")
    extra = sorted(str(k) for k in doc if k != "waivers")
    if extra:
        raise InputError(f"unknown top-level key(s): {', '.join(extra)}", source=source, hint="the only key is 'waivers'")
    entries = doc.get("waivers")
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise InputError("'waivers' must be a list of entries", source=source, hint=f"write {example}")

    out: list[Waiver] = []
    for i, entry in enumerate(entries, start=1):
        where = f"waiver {i}"

        def bad(message: str, hint: str | None = None, where: str = where) -> InputError:
            return InputError(f"{where}: {message}", source=source, hint=hint)

        if not isinstance(entry, Mapping):
            raise bad(f"must be a mapping with the keys {', '.join(_FIELDS)}")
        unknown = sorted(str(k) for k in entry if k not in _KEYS)
        if unknown:
            raise bad(f"unknown key(s): {', '.join(unknown)}", f"the keys are {', '.join(_FIELDS)}")
        if "rule" in entry and "rules" in entry:
            raise bad("give 'rule' or 'rules', not both", "one key, with an id, a list of ids, or \"*\"")
        entry = {("rule" if k == "rules" else k): v for k, v in entry.items()}
        missing = [k for k in _FIELDS if k not in entry or entry[k] is None]
        if missing:
            raise bad(f"missing {', '.join(repr(k) for k in missing)}")
        values: dict[str, str] = {}
        for key in ("facility", "owner", "reason", "reference"):
            v = entry[key]
            if not isinstance(v, str) or not v.strip():
                raise bad(f"{key!r} must be a non-empty text (got {v!r})")
            values[key] = v.strip()
        rules = _rules(entry["rule"], RULE_IDS, bad)
        out.append(Waiver(number=i, rules=rules, expires=_date(entry["expires"], bad), source=source, **values))
    return out


def _rules(value: Any, known: Sequence[str], bad: Any) -> tuple[str, ...]:
    """The rule ids a waiver names: one id, a list of ids (each once), or "*" alone."""
    names = value if isinstance(value, list) else [value]
    if not names:
        raise bad("'rule' is an empty list", 'name at least one rule id, or "*" for every rule')
    out: list[str] = []
    for v in names:
        if not isinstance(v, str) or not v.strip():
            raise bad(f"'rule' must be a rule id, a list of rule ids, or \"*\" (got {v!r})")
        name = v.strip()
        if name == ALL_RULES and len(names) > 1:
            raise bad('"*" (every rule) stands alone, not in a list', 'write rule: "*"')
        if name != ALL_RULES and name not in known:
            raise bad(f"unknown rule {name!r}", f"one of: {', '.join(known)}, or \"*\" for every rule")
        if name in out:
            raise bad(f"rule {name!r} is named twice")
        out.append(name)
    return tuple(out)


def _date(value: Any, bad: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        raise bad(f"'expires' must be a date YYYY-MM-DD, not a date and time ({value.isoformat()})")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if len(text) == 10:
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                pass
    raise bad(f"'expires' must be a date YYYY-MM-DD (got {value!r})")


# --------------------------------------------------------------------------- applying


def _waive(finding: Finding, match: WaiverMatch) -> Finding:
    changes: dict[str, Any] = {"status": Status.WAIVED}
    # Once Finding has a ``waiver`` field (see the integration notes), the record travels with it.
    if "waiver" in getattr(Finding, "__dataclass_fields__", {}):
        changes["waiver"] = match.as_dict()
    return dataclasses.replace(finding, **changes)


def apply_waivers(
    operator_findings: Sequence[Finding],
    facility_findings: Mapping[str, Sequence[Finding]],
    waivers: Iterable[Waiver],
    as_of: dt.date,
) -> WaiverOutcome:
    """Waive FAIL and INDETERMINATE findings matched by an unexpired waiver (the first in file order).

    Pure: the inputs are not changed; the outputs keep every finding, in order. ``waived`` maps each
    new WAIVED finding to its :class:`WaiverMatch` (waiver + original status). ``notes`` has one line
    per expired waiver ("waiver N for rule X on Y expired on DATE") and per unexpired waiver that
    matched nothing to waive.
    """
    ws = list(waivers)
    active = [w for w in ws if not w.expired_on(as_of)]
    used: set[int] = set()
    waived: dict[Finding, WaiverMatch] = {}

    def one(f: Finding) -> Finding:
        if f.status not in _WAIVABLE:
            return f
        w = next((w for w in active if w.matches(f)), None)
        if w is None:
            return f
        used.add(w.number)
        match = WaiverMatch(w, f.status)
        new = _waive(f, match)
        waived[new] = match
        return new

    new_operator = [one(f) for f in operator_findings]
    new_facility = {fid: [one(f) for f in fs] for fid, fs in facility_findings.items()}
    return WaiverOutcome(new_operator, new_facility, waived, waiver_notes(ws, as_of, used))


def waiver_notes(waivers: Sequence[Waiver], as_of: dt.date, used: set[int]) -> list[str]:
    """One line per expired waiver, and per unexpired waiver (by number) not in ``used``.

    A streamed audit applies waivers chunk by chunk and says these once, for the whole audit.
    """
    notes = [f"{w.describe()} expired on {w.expires.isoformat()}" for w in waivers if w.expired_on(as_of)]
    notes += [f"{w.describe()} matched no failing or indeterminate finding" for w in waivers
              if not w.expired_on(as_of) and w.number not in used]
    return notes


def apply_waivers_to_result(result: Any, waivers: Iterable[Waiver]) -> tuple[Any, dict[Finding, WaiverMatch]]:
    """Apply waivers to an AuditResult: a copy with waived findings and the notes added to its warnings."""
    outcome = apply_waivers(result.operator_findings, result.facility_findings, waivers, result.as_of)
    new = dataclasses.replace(
        result,
        operator_findings=outcome.operator_findings,
        facility_findings=outcome.facility_findings,
        warnings=list(result.warnings) + outcome.notes,
    )
    return new, outcome.waived

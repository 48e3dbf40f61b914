"""What a recorded run holds, and the way between report.json's mapping and the history's rows.

Pure: no database here. :func:`rows_of` checks a report mapping and turns it into the rows of one
run (before any transaction opens, so a bad report writes nothing); :func:`run_info`,
:func:`finding_dict` and :func:`facility_dict` turn rows back into what :mod:`history` returns.
:func:`facility_point` is shared with the sampler and the portfolio map: the point a facility is
drawn at and its signed distance to the line, from a report or a loaded run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from auditor.errors import InputError

__all__ = [
    "REPORT_SCHEMA", "RunInfo", "Rows", "core_parts", "facility_dict", "facility_point", "finding_dict", "inputs_fingerprint",
    "operator_key", "region_options", "rows_of", "run_info", "utc",
]

#: The report schema recorded runs come from, and that a loaded run claims (it carries what
#: :mod:`auditor.report.diff` reads).
REPORT_SCHEMA = "pilot-zone-auditor/report/1"


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One recorded run, as :meth:`History.runs` lists it."""

    id: int
    recorded_at: dt.datetime
    operator: str
    programme: str
    region: str
    region_options: dict[str, bool]
    as_of: dt.date
    verdict: str
    facility_count: int
    verdicts: dict[str, int]
    tool_version: str
    rules_version: str
    inputs_sha256: str
    source: str
    failing_rules: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "recorded_at": self.recorded_at.isoformat(), "operator": self.operator,
            "programme": self.programme, "region": self.region, "region_options": dict(self.region_options),
            "as_of": self.as_of.isoformat(), "verdict": self.verdict, "facility_count": self.facility_count,
            "verdicts": dict(self.verdicts), "failing_rules": dict(self.failing_rules),
            "tool_version": self.tool_version, "rules_version": self.rules_version,
            "inputs_sha256": self.inputs_sha256, "source": self.source,
        }


def inputs_fingerprint(report_inputs: Sequence[Mapping[str, Any]]) -> str:
    """sha256 over the inputs' ``role<TAB>sha256`` lines, sorted: the same files give the same
    fingerprint wherever they lie (paths are left out on purpose)."""
    lines = sorted(f"{i.get('role', '')}\t{i.get('sha256', '')}" for i in report_inputs)
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def operator_key(report: Mapping[str, Any]) -> str:
    """The name a run is listed under: the operator's name, or for a bare facility list its path."""
    name = str(_mapping(report.get("operator")).get("name") or "").strip()
    if name:
        return name
    lists = [str(i.get("path", "")) for i in _list(report.get("inputs")) if isinstance(i, Mapping) and i.get("role") == "facility_list"]
    return f"(no operator name: {lists[0]})" if lists else "(no operator name)"


def facility_point(fac: Mapping[str, Any], core_parts: Sequence[str]) -> dict[str, Any] | None:
    """The point a facility is drawn at and its distance to the line, from a report.json facility
    (declared coordinates first, as the reports choose) or a loaded run's ``point``.

    ``signed_distance_m`` is positive inside the region's drawn line (the point lies in a ``core``
    part), negative outside, as ``AuditResult.facilities_frame`` gives it. None: no point.
    """
    recorded = fac.get("point")
    if isinstance(recorded, Mapping):
        return dict(recorded)
    claims = [c for c in _list(fac.get("claims")) if isinstance(c, Mapping)]
    point = next((c for c in claims if c.get("kind") == "point" and c.get("source") == "declared_coordinates"), None)
    point = point or next((c for c in claims if c.get("kind") == "point"), None)
    lon, lat = (None, None) if point is None else (point.get("lon"), point.get("lat"))
    if point is None or not _finite(lon) or not _finite(lat):
        return None
    cont = next((c for c in _list(fac.get("containment")) if isinstance(c, Mapping) and c.get("claim") == point.get("id")), None)
    out: dict[str, Any] = {"lon": float(lon), "lat": float(lat), "containment": None,
                           "distance_to_boundary_m": None, "signed_distance_m": None, "parts": []}
    if cont is not None:
        parts = [str(p) for p in _list(cont.get("parts"))]
        out["containment"] = cont.get("verdict")
        out["parts"] = parts
        d = cont.get("distance_to_boundary_m")
        if _finite(d):
            out["distance_to_boundary_m"] = float(d)
            out["signed_distance_m"] = float(d) if set(parts) & set(core_parts) else -float(d)
    return out


def core_parts(report: Mapping[str, Any]) -> list[str]:
    """The ids of the region's core parts (report.json's region.parts with role "core")."""
    return [str(p.get("id")) for p in _list(_mapping(report.get("region")).get("parts"))
            if isinstance(p, Mapping) and p.get("role") == "core"]


def region_options(report: Mapping[str, Any]) -> dict[str, bool]:
    """{option: value} from report.json's region.options ({name: {value, default, description}})."""
    options = _mapping(report.get("region")).get("options")
    if isinstance(options, Mapping):
        return {str(k): bool(v.get("value") if isinstance(v, Mapping) else v) for k, v in sorted(options.items())}
    return {}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _finite(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _text(value: Any) -> str:
    """Text for a column; NUL, which PostgreSQL refuses in text, becomes U+FFFD."""
    return ("" if value is None else str(value)).replace("\x00", "\ufffd")


def _json(value: Any) -> Any:
    """A JSON-able copy with NULs replaced in every string (PostgreSQL's json refuses \\u0000 too)."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, Mapping):
        return {_text(k): _json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _date(value: Any, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{what}: {value!r} is not a date (YYYY-MM-DD)", source="report") from None


def _optional_date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


@dataclass
class Rows:
    """A run's rows, prepared (and checked) before the transaction opens."""

    run: dict[str, Any]
    inputs: list[dict[str, Any]]
    data: list[dict[str, Any]]
    facilities: list[dict[str, Any]]
    findings: list[dict[str, Any]]


def rows_of(report: Mapping[str, Any], *, programme: str, source: str, recorded_at: dt.datetime) -> Rows:
    from auditor.supervision.schema import FACILITY_VERDICTS, FINDING_STATUSES, RUN_VERDICTS

    if not isinstance(report, Mapping) or report.get("schema") != REPORT_SCHEMA:
        got = report.get("schema") if isinstance(report, Mapping) else type(report).__name__
        raise InputError(f"not a {REPORT_SCHEMA} report (schema {got!r})", source=source, hint="record report.json as 'auditor audit' writes it")
    summary = _mapping(report.get("summary"))
    verdict = str(summary.get("verdict", ""))
    if verdict not in RUN_VERDICTS:
        raise InputError(f"summary.verdict {verdict!r} is not one of {', '.join(RUN_VERDICTS)}", source=source)
    region = _mapping(report.get("region"))
    tool = _mapping(report.get("tool"))
    report_inputs = [i for i in _list(report.get("inputs")) if isinstance(i, Mapping)]
    facilities_in = _list(report.get("facilities"))
    run = {
        "recorded_at": recorded_at, "operator": _text(operator_key(report)), "programme": _text(programme),
        "region": _text(region.get("id")), "region_options": region_options(report),
        "as_of": _date(report.get("as_of"), "as_of"), "verdict": verdict,
        "exit_code": summary.get("exit_code") if isinstance(summary.get("exit_code"), int) else None,
        "facility_count": int(summary.get("facility_count") or len(facilities_in)),
        "verdicts": _json(dict(_mapping(summary.get("facilities")))), "rules": _json(dict(_mapping(summary.get("rules")))),
        "operator_record": _json(dict(_mapping(report.get("operator")))), "region_record": _json(dict(region)),
        "tool_version": _text(tool.get("version")), "rules_version": _text(tool.get("rules_version")),
        "report_schema": REPORT_SCHEMA, "generated_at": _text(report.get("generated_at")),
        "inputs_sha256": inputs_fingerprint(report_inputs), "warnings": _json([str(w) for w in _list(report.get("warnings"))]),
        "source": _text(source), "facilities_listed": len(facilities_in),
    }
    if not run["region"]:
        raise InputError("the report names no region (region.id)", source=source)
    ins = [{"position": n, "role": _text(i.get("role")), "path": _text(i.get("path")), "sha256": _text(i.get("sha256")),
            "rows": i.get("rows") if isinstance(i.get("rows"), int) else None, "record": _json(dict(i))}
           for n, i in enumerate(report_inputs)]
    data = [{"position": n, "name": _text(s.get("name")), "path": _text(s.get("path")), "version": _text(s.get("version")),
             "sha256": _text(s.get("sha256"))}
            for n, s in enumerate(x for x in _list(report.get("data_sources")) if isinstance(x, Mapping))]
    cores = core_parts(report)
    facs: list[dict[str, Any]] = []
    finds: list[dict[str, Any]] = []

    def finding(x: Mapping[str, Any], facility_position: int | None) -> dict[str, Any]:
        status = str(x.get("status", ""))
        if status not in FINDING_STATUSES:
            raise InputError(f"finding {x.get('rule')!r} on {x.get('subject')!r}: status {status!r} is not one of {', '.join(FINDING_STATUSES)}", source=source)
        waiver = x.get("waiver") if isinstance(x.get("waiver"), Mapping) else None
        return {
            "position": len(finds), "facility_position": facility_position, "subject": _text(x.get("subject")),
            "rule": _text(x.get("rule")), "clause": _text(x.get("clause")), "status": status,
            "severity": _text(x.get("severity")), "message": _text(x.get("message")),
            "evidence": _json([str(e) for e in _list(x.get("evidence"))]), "basis": "+".join(_text(b) for b in _list(x.get("basis"))),
            "missing": _text(x.get("missing")), "waiver": _json(dict(waiver)) if waiver else None,
            "waiver_expires": _optional_date(waiver.get("expires")) if waiver else None,
        }

    for x in _list(report.get("operator_findings")):
        if isinstance(x, Mapping):
            finds.append(finding(x, None))
    for n, fac in enumerate(facilities_in):
        if not isinstance(fac, Mapping):
            raise InputError(f"facilities[{n}] is not a facility record", source=source)
        v = str(fac.get("verdict", ""))
        if v not in FACILITY_VERDICTS:
            raise InputError(f"facility {fac.get('id')!r}: verdict {v!r} is not one of {', '.join(FACILITY_VERDICTS)}", source=source)
        point = facility_point(fac, cores) or {}
        errors = "; ".join(f"{e.get('column') or 'row'}: {e.get('message')}" for e in _list(fac.get("errors")) if isinstance(e, Mapping))
        facs.append({
            "position": n, "facility_id": _text(fac.get("id")), "row": fac.get("row") if isinstance(fac.get("row"), int) else None,
            "kind": _text(fac.get("kind")), "tenure": _text(fac.get("tenure")), "name": _text(fac.get("name")),
            "address": _text(fac.get("address")), "verdict": v, "basis": "+".join(_text(b) for b in _list(fac.get("basis"))),
            "lon": point.get("lon"), "lat": point.get("lat"), "containment": point.get("containment"),
            "distance_m": point.get("distance_to_boundary_m"), "signed_distance_m": point.get("signed_distance_m"),
            "parts": "+".join(_text(p) for p in _list(point.get("parts"))), "errors": _text(errors),
        })
        for x in _list(fac.get("findings")):
            if isinstance(x, Mapping):
                finds.append(finding(x, n))
    return Rows(run, ins, data, facs, finds)




def run_info(row: Mapping[str, Any]) -> RunInfo:
    rules = row["rules"] or {}
    failing = {str(rule): int(counts.get("fail", 0)) for rule, counts in rules.items() if isinstance(counts, Mapping) and counts.get("fail")}
    as_of = row["as_of"]
    return RunInfo(
        id=int(row["id"]), recorded_at=utc(row["recorded_at"]), operator=row["operator"], programme=row["programme"],
        region=row["region"], region_options=dict(row["region_options"] or {}),
        as_of=as_of if isinstance(as_of, dt.date) else dt.date.fromisoformat(str(as_of)),
        verdict=row["verdict"], facility_count=int(row["facility_count"]), verdicts={str(k): int(v) for k, v in (row["verdicts"] or {}).items()},
        tool_version=row["tool_version"], rules_version=row["rules_version"], inputs_sha256=row["inputs_sha256"], source=row["source"],
        failing_rules=failing,
    )


def finding_dict(x: Mapping[str, Any]) -> dict[str, Any]:
    d: dict[str, Any] = {"rule": x["rule"], "clause": x["clause"], "status": x["status"], "severity": x["severity"],
                         "subject": x["subject"], "message": x["message"], "evidence": list(x["evidence"] or [])}
    if x["basis"]:
        d["basis"] = x["basis"].split("+")
    if x["missing"]:
        d["missing"] = x["missing"]
    if x["waiver"]:
        d["waiver"] = dict(x["waiver"])
    return d


def facility_dict(f: Mapping[str, Any], found: list[dict[str, Any]]) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": f["facility_id"], "row": f["row"], "kind": f["kind"], "tenure": f["tenure"], "name": f["name"],
        "address": f["address"], "verdict": f["verdict"], "basis": f["basis"].split("+") if f["basis"] else [],
    }
    if f["lon"] is not None and f["lat"] is not None:
        d["point"] = {"lon": f["lon"], "lat": f["lat"], "containment": f["containment"], "distance_to_boundary_m": f["distance_m"],
                      "signed_distance_m": f["signed_distance_m"], "parts": f["parts"].split("+") if f["parts"] else []}
    d["findings"] = found
    if f["errors"]:
        d["errors"] = [{"column": None, "message": f["errors"], "value": None, "hint": None}]
    return d


def utc(when: dt.datetime) -> dt.datetime:
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when.astimezone(dt.UTC)

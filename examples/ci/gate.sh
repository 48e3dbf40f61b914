#!/bin/sh
# The pilot-zone CI gate (README, "In CI"): audit the operator, then hold the audit against the
# last report filed with the regulator. Runs offline when the profile replays recorded DNS answers
# (evidence.dns_recording, written by `auditor sweep --record` or `auditor audit --record-dns`).
#
#   sh gate.sh PROFILE FILED OUT
#
#   PROFILE  the operator profile (its facility list named in it)
#   FILED    the last filed report: a report folder or a report.json (absent: the first run)
#   OUT      the folder for this run's reports: report.json, report.md, report.sarif, and diff.md
#
# Environment: AUDITOR, the auditor command (default: auditor); AUDITOR_AS_OF, the date to judge on
# (default: today); AUDITOR_FAIL_ON, the audit's own gate when nothing is filed yet (default: fail).
# Other defaults (formats aside) may sit in auditor.toml or pyproject.toml's [tool.auditor].
#
# Exit status: 0 nothing regressed against FILED; 1 something regressed (diff.md says what and
# why: a finding that now fails, a facility that lost its proof, a waiver that expired), or, with
# nothing filed, the audit's gate failed; 2 the audit or the diff could not run (unusable input);
# 3 nothing filed, and rows could not be read.
set -u
usage="usage: gate.sh PROFILE FILED OUT"
profile=${1:?$usage}
filed=${2:?$usage}
out=${3:?$usage}
auditor=${AUDITOR:-auditor}

set -- audit "$profile" --out "$out" --format json,md,sarif --fail-on "${AUDITOR_FAIL_ON:-fail}"
if [ -n "${AUDITOR_AS_OF:-}" ]; then
    set -- "$@" --as-of "$AUDITOR_AS_OF"
fi
"$auditor" "$@"
audit_status=$?
if [ "$audit_status" -eq 2 ] || [ "$audit_status" -gt 3 ]; then
    echo "gate: the audit could not run (exit $audit_status)" >&2
    exit 2
fi
if [ ! -e "$filed" ]; then
    echo "gate: nothing filed at $filed yet: the audit's own status decides (exit $audit_status)"
    exit "$audit_status"
fi
"$auditor" diff "$filed" "$out" --format md > "$out/diff.md"
diff_status=$?
cat "$out/diff.md"
case "$diff_status" in
    0) echo "gate: nothing regressed against $filed (audit exit $audit_status)"; exit 0 ;;
    1) echo "gate: regressed against $filed: see $out/diff.md" >&2; exit 1 ;;
    *) echo "gate: the diff could not run (exit $diff_status)" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# The Debian packages the test suite needs, installed where they are missing (used by `make test`
# and so by .ci/run). The tests start and stop their own servers on loopback:
#   knot, knot-dnsutils   real authoritative DNS for the DNS and ASN integration tests
#   knot-module-geoip     EDNS Client Subnet answers that depend on the client's subnet
#   chromium              the headless browser that opens the HTML report
#   postgresql            a real PostgreSQL server (initdb + pg_ctl into a temporary folder, on a
#                         loopback port) for the audit-history tests; its own service is not used
# Each is installed only when missing, so a warm machine never calls apt. Where they cannot be
# installed (not Debian/Ubuntu, not root and no password-less sudo, or AUDITOR_NO_SYSTEM_INSTALL
# set), this says so and exits 0: the tests that need them skip, naming the package. Under CI=true
# a package that cannot be installed fails here (and its tests would fail too).
set -euo pipefail

need=()
command -v knotd >/dev/null 2>&1 || [ -x /usr/sbin/knotd ] || need+=(knot)
command -v kdig >/dev/null 2>&1 || need+=(knot-dnsutils)
have_geoip() {  # Knot's geoip module, wherever the distribution puts it
  local f
  for f in /usr/lib/*/knot/modules-*/geoip.so /usr/lib/knot/modules-*/geoip.so; do [ -e "$f" ] && return 0; done
  return 1
}
have_geoip || need+=(knot-module-geoip)
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
have_postgres() {  # Debian keeps the server's programs in /usr/lib/postgresql/<major>/bin, off PATH
  local f
  for f in /usr/lib/postgresql/*/bin/initdb; do [ -x "$f" ] && [ -x "${f%/initdb}/pg_ctl" ] && return 0; done
  command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1
}
have_postgres || need+=(postgresql)
[ ${#need[@]} -eq 0 ] && exit 0

ci=false
case "${CI:-}" in true | TRUE | True | 1 | yes) ci=true ;; esac

cannot() {
  echo "system packages: $1; missing: ${need[*]}" >&2
  echo "system packages: the tests that need them will skip, naming the package (install: apt-get install -y ${need[*]})" >&2
  if $ci; then
    echo "system packages: CI=true, so this is a failure" >&2
    exit 1
  fi
  exit 0
}

[ -n "${AUDITOR_NO_SYSTEM_INSTALL:-}" ] && cannot "AUDITOR_NO_SYSTEM_INSTALL is set, so nothing is installed"
command -v apt-get >/dev/null 2>&1 || cannot "this is not a Debian/Ubuntu machine (no apt-get)"
if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  cannot "not root and no password-less sudo"
fi

echo "system packages: installing ${need[*]}" >&2
apt() { ${as_root[@]+"${as_root[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get "$@" </dev/null; }
apt update -q >&2 || cannot "apt-get update failed"
apt install -y --no-install-recommends "${need[@]}" >&2 || cannot "apt-get install failed"

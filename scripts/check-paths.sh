#!/usr/bin/env bash
# Fails when a tracked file names a path outside the repository that only exists on one machine
# (a home or work folder, the team's shared tree beside the checkout): a clone from the public
# repository has nothing beside it. System paths (/usr/..., /tmp/...) are not machine-specific.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "check-paths: not a git checkout, nothing to check" >&2
  exit 0
fi
# Top-level folders that hold users' or a workplace's trees, and sibling folders of a checkout;
# the pattern is assembled from names so that this file does not itself name such a path.
roots=(work/ root/ 'home/[A-Za-z]' 'Users/[A-Za-z]')
siblings=(shared .library)
pattern="/($(IFS='|'; echo "${roots[*]}"))|\.\./($(IFS='|'; echo "${siblings[*]}" | sed 's/\./\\./g'))\b"
if hits=$(git grep -nIE "$pattern" -- .); then
  echo "tracked files name paths outside the repository:" >&2
  echo "$hits" >&2
  exit 1
fi

#!/usr/bin/env bash
# Sets up the machine if needed, then runs the whole test suite (as root: overlayfs, nspawn,
# cgroups and network namespaces are tested for real).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
bash scripts/setup.sh
exec npx vitest run "$@"

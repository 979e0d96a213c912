#!/usr/bin/env bash
# Sets up the machine if needed, then runs the whole test suite (as root: overlayfs, nspawn,
# cgroups and network namespaces are tested for real), then the VM suite: minic on a systemd +
# cgroup v2 host and on a plain-init cgroup v2 host, each booted under qemu (scripts/test-vm.sh).
# With arguments (vitest filters or files) only vitest runs; MINIC_VM_SUITE=0 leaves the VMs out.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
bash scripts/setup.sh
if [ $# -gt 0 ]; then exec npx vitest run "$@"; fi
rc=0
npx vitest run || rc=$?
if [ "${MINIC_VM_SUITE:-1}" = 0 ]; then
  echo "test: the VM suite was left out (MINIC_VM_SUITE=0)"
else
  for kind in systemd plain; do bash scripts/test-vm.sh "$kind" || rc=1; done
fi
exit "$rc"

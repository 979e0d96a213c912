#!/usr/bin/env bash
# Installs what minic and its tests need on a Debian/Ubuntu machine (as root), then builds.
# Idempotent: installs only what is missing. Sourced by demo.sh and test.sh.
set -euo pipefail
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

# Debian packages: the tutorial's tools (busybox, nspawn, cpio, bzip2 family), what the runtime
# needs (iproute2 for netns/veth, attr for overlayfs xattrs), what tests call on the host, and the peers the
# sharing tests talk to (skopeo, umoci, podman + runc, containerd (ctr), docker-registry, bsdtar of
# libarchive-tools), and the VM suite's qemu, kernel, debootstrap and ext4 tools (scripts/test-vm.sh).
APT_PACKAGES=(busybox-static systemd-container cpio bzip2 lbzip2 pbzip2 attr iproute2 iputils-ping wget gzip tar bsdutils procps
  zstd xz-utils skopeo umoci podman runc containerd docker-registry libarchive-tools hyperfine jq debootstrap
  qemu-system-x86 linux-image-amd64 e2fsprogs)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# docker-registry's package starts a service on :5000 where an init system runs it; the tests
# start their own registry on a free loopback port instead.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  systemctl disable --now docker-registry >/dev/null 2>&1 || true
fi

# npm dependencies, exactly as locked, when missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

# Compile src/ to dist/, bundle the CLI (dist/bundle/, run by bin/minic.js) and build the startup
# snapshot bin/minic starts run, build, ps, rm and prune from (dist/snapshot/).
npm run -s build

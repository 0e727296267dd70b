#!/usr/bin/env bash
# Installs everything swiftlet needs on a fresh Debian 12 machine (root). Idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(
  # C libraries the Swift targets link against
  pkg-config libseccomp-dev libcap-dev libnl-3-dev libnl-route-3-dev libmnl-dev libnftnl-dev libarchive-dev
  # container images for tests and the demo, and the peers we measure against
  busybox-static runc crun containerd containernetworking-plugins nftables iproute2 procps
  # tests and benchmarks
  python3-pip hyperfine jq time
  # VM tests on a real cgroup v2 hierarchy
  qemu-system-x86 linux-image-amd64
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Python packages for whichever python3 is first on PATH (Debian's refuses plain pip installs
# into the system: PEP 668).
py_install() {
  python3 -m pip install -q "$@" 2>/dev/null || python3 -m pip install -q --break-system-packages "$@"
}
python3 -c 'import pytest' 2>/dev/null || py_install pytest
# virtme-ng boots the host's own root filesystem in a VM (tests/vm).
command -v vng >/dev/null 2>&1 || py_install virtme-ng
command -v swift >/dev/null || { echo "setup: swift is not on PATH (expected Swift 6.1+ at /opt/swift)"; exit 1; }

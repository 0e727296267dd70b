#!/usr/bin/env bash
# Installs everything swiftlet needs on a fresh Debian 12 machine (root). Idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
cd "$(dirname "$0")/.."

packages=(
  # C libraries the Swift targets link against
  pkg-config libseccomp-dev libcap-dev libnl-3-dev libnl-route-3-dev libmnl-dev libnftnl-dev libarchive-dev zlib1g-dev
  # FoundationNetworking (swiftlet-node's HTTP client) links libcurl in static-stdlib builds
  libcurl4-openssl-dev
  # container images for tests and the demo, and the peers we measure against
  busybox-static runc crun containerd containernetworking-plugins nftables iproute2 procps
  # image store tests: a real registry, an image copier, htpasswd for the auth-protected one
  docker-registry skopeo apache2-utils
  # ControlPlaneLite: SQLite (GRDB) and etcd for the second store
  libsqlite3-dev etcd-server etcd-client
  # tests and benchmarks (Go + spdystream: the SPDY exec/port-forward client of the CRI tests,
  # the library Kubernetes itself uses)
  python3-pip hyperfine jq time golang-go golang-github-docker-spdystream-dev
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
# tests/requirements.txt lists them all (virtme-ng boots the host's root filesystem for tests/vm).
if ! python3 - <<'PY' 2>/dev/null
import sys, importlib.metadata as md, re
for line in open("tests/requirements.txt"):
    name = re.split(r"[<>=!~ #\[]", line.strip(), maxsplit=1)[0]
    if name:
        md.version(name)
PY
then
  py_install -r tests/requirements.txt
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH (expected Swift 6.1+ at /opt/swift)"; exit 1; }

#!/bin/sh
# ControlPlaneLite apiserver benchmark: SQLite vs etcd (Debian's etcd-server) in one run.
# Idle RSS, 1,000 pod creates through the API (writes/s, p99), a full list, 100 watchers
# receiving every event; medians over rounds and the ratio. Uses the release build.
#   bench/apiserver.sh [--rounds N] [--pods N] [--workers N] [--watchers N] [--events N]
# SWIFTLET_BIN_DIR overrides the binary directory (default: swift build -c release --show-bin-path).
set -eu
cd "$(dirname "$0")/.."
if [ -z "${SWIFTLET_BIN_DIR:-}" ]; then
    swift build -c release --product swiftlet-control-plane >&2
    SWIFTLET_BIN_DIR=$(swift build -c release --show-bin-path)
fi
export SWIFTLET_BIN_DIR
command -v etcd >/dev/null || { echo "etcd not installed (apt-get install etcd-server)" >&2; exit 1; }
exec python3 bench/apiserver/bench.py "$@"

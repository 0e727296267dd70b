#!/bin/sh
# Storage benchmark for ControlPlaneLite: SQLite (synchronous=full, the default, and normal)
# beside etcd 3.4 (Debian's etcd-server, started here on loopback with a temporary data dir),
# in one run, on the same disk. Figures: 1,000 creates of a 1.5 KB object with 1 and 16 clients
# (writes/s, p50, p99), a full list of 1,000, 100 watchers receiving 100 events each (delivery
# latency p50/p99 from the write's start, and time until all were delivered), and bytes on
# disk after 10,000 updates of one lease with automatic compaction on (etcd: after defrag).
# Prints the median of ROUNDS rounds (default 3) per figure and the sqlite-full/etcd ratio.
#
# The benchmark is a Swift Testing test (Tests/APIStorageTests/StorageBenchmarks.swift) that
# is skipped unless SWIFTLET_BENCH=1; it is built in release mode with testing enabled.
#   ROUNDS=5 bench/apistorage.sh
#   PACKAGE_PATH=/some/checkout SCRATCH=/tmp/scratch bench/apistorage.sh
set -eu
cd "$(dirname "$0")/.."
PACKAGE_PATH=${PACKAGE_PATH:-.}
SCRATCH=${SCRATCH:-.build-bench-apistorage}
ROUNDS=${ROUNDS:-3}
command -v etcd >/dev/null || { echo "etcd not found (apt-get install etcd-server)" >&2; exit 1; }
echo "building (release, testing enabled) in $SCRATCH ..." >&2
swift build -c release --build-tests -Xswiftc -enable-testing \
  --package-path "$PACKAGE_PATH" --scratch-path "$SCRATCH" >&2
echo "etcd: $(etcd --version | head -1); sqlite: $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo linked)" >&2
SWIFTLET_BENCH=1 SWIFTLET_BENCH_ROUNDS=$ROUNDS swift test -c release -Xswiftc -enable-testing --skip-build \
  --package-path "$PACKAGE_PATH" --scratch-path "$SCRATCH" --filter StorageBenchmarks 2>&1 |
  grep -v -e '^Test Suite' -e 'Executed 0 tests' -e 'connected to etcd'

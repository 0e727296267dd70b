#!/usr/bin/env bash
# Image pull benchmark: the same images from a local docker-registry, cold, pulled and unpacked
# by ours (swiftlet-image pull) and by Debian's containerd (ctr images pull --plain-http, which
# unpacks into its overlayfs snapshotter; containerd runs with its own temp root/state/socket).
# Rounds interleaved (order alternates), store emptied between rounds. Prints medians, the ratio
# ours/containerd, and unpack throughput (MB/s of unpacked content) for a ~200 MB layer.
#
#   bench/image-pull.sh [OURS] [-n ROUNDS] [--big-mb MB]
#
# OURS: path, else .build-release-image/release/swiftlet-image, else .build/release, else debug.
# Build ours with: swift build -c release --static-swift-stdlib --scratch-path .build-release-image --product swiftlet-image
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=7
BIG_MB=200
OURS=""
while [ $# -gt 0 ]; do
  case "$1" in
    -n|--rounds) ROUNDS=$2; shift 2 ;;
    --big-mb) BIG_MB=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) OURS=$1; shift ;;
  esac
done
if [ -z "$OURS" ]; then
  for candidate in "$REPO/.build-release-image/release/swiftlet-image" "$REPO/.build/release/swiftlet-image" "$REPO/.build/debug/swiftlet-image"; do
    if [ -x "$candidate" ]; then OURS=$candidate; break; fi
  done
fi
[ "$(id -u)" = 0 ] || { echo "image-pull: needs root" >&2; exit 2; }
for tool in docker-registry skopeo containerd ctr; do
  command -v "$tool" >/dev/null || { echo "image-pull: needs $tool" >&2; exit 2; }
done
[ -x "$OURS" ] || { echo "image-pull: swiftlet-image not found (build it first)" >&2; exit 2; }
exec python3 "$REPO/bench/image/pull_bench.py" "$OURS" "$ROUNDS" "$BIG_MB"

#!/usr/bin/env bash
# build-release.sh [SCRATCH] [swift build options...]: the release binaries as the node runs them,
# then their directory on stdout (the build's own output goes to stderr).
#
# - Static Swift standard library (and fully static kubeletd / swiftlet-runc, see Package.swift).
# - Every function in a section of its own (Swift, C and C++, dependencies included), so that the
#   linker can follow kubeletd's link order (Sources/kubeletd/kubeletd/link-order.txt): the code
#   a running kubelet executes is packed together instead of spread over the whole 34 MB of text,
#   and only those pages end up mapped (scripts/link-order.sh explains and regenerates it).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=${1:-${SWIFTLET_BUILD_DIR:-.build-release}}
shift || true
flags=(-c release --static-swift-stdlib --scratch-path "$scratch"
       -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections -Xcxx -ffunction-sections "$@")
swift build "${flags[@]}" >&2
swift build "${flags[@]}" --show-bin-path

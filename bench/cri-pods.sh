#!/bin/sh
# bench/cri-pods.sh: the same CRI workload (RunPodSandbox + CreateContainer + StartContainer per
# pod, 50 pods, 20 at once) against Debian's containerd (CRI plugin, runc, reference CNI
# plugins, restrict_oom_score_adj) and against swiftlet-cri, in one run, inside a throwaway
# network namespace with a local registry. Prints p50/p99, daemon RSS idle and at 50 pods, and
# the per-container helper's RSS/PSS (containerd-shim-runc-v2 vs swiftlet-monitor).
# Then the teardown: StopPodSandbox + RemovePodSandbox for all pods at once, timed until no sandbox
# and no helper is left (errors counted).
# Env: ROUNDS (3), PODS (50), CONCURRENCY (20), SWIFTLET_BIN_DIR (default: swift build --show-bin-path),
# RUNTIME_BIN_DIR (take swiftlet-runc and swiftlet-cni from there, e.g. a release build).
# Needs root, containerd, runc, skopeo, docker-registry, python3 grpcio + grpcio-tools.
set -eu
cd "$(dirname "$0")/.."
exec python3 bench/cri/run.py "$@"

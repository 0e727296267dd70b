#!/usr/bin/env bash
# link-order.sh [BIN_DIR]: regenerate Sources/kubeletd/kubeletd/link-order.txt, kubeletd's link order.
#
# Why: kubeletd is one static executable with ~34 MB of machine code (Swift runtime, Foundation,
# NIO, gRPC, BoringSSL, ours), of which a running kubelet executes ~3.5 MB. The kernel maps
# program text 64 KiB at a time (fault-around), so with the default layout nearly every 64 KiB
# block holds something executed and ~30 MB of text ends up in the daemon's RSS. Built with one
# section per function (scripts/build-release.sh) and linked by lld with this file as
# --symbol-ordering-file (Package.swift), the executed functions sit together at the start of
# .text, hottest first.
#
# How: runs a standalone node (our CRI runtime, one probed pod, the read-only API endpoints, then
# 100 static pods started and removed) with kubeletd under valgrind's callgrind, and lists every
# function kubeletd executed, by instructions spent in it, hottest first. Functions missing from
# the list still work; they are only laid out after it. Re-run after large changes to kubeletd
# and commit the file; a stale list costs memory, never correctness.
#
# BIN_DIR: release binaries (default: scripts/build-release.sh). Root only; needs valgrind.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
[[ $(id -u) == 0 ]] || { echo "link-order.sh: needs root (it runs a node)" >&2; exit 2; }
command -v valgrind >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q valgrind >&2
bin=${1:-$(bash scripts/build-release.sh)}
work=$(mktemp -d /tmp/swiftlet-link-order.XXXXXX)
trap 'rm -rf "$work"' EXIT
# A bin directory whose kubeletd runs under callgrind (debug info stripped: valgrind would read
# 70 MB of DWARF first; the symbol table is what the list needs).
mkdir "$work/bin"
for p in "$bin"/swiftlet-*; do ln -s "$p" "$work/bin/"; done
strip --strip-debug -o "$work/kubeletd.real" "$bin/kubeletd"
cat > "$work/bin/kubeletd" <<SH
#!/bin/sh
exec valgrind -q --tool=callgrind --demangle=no --dump-instr=no --dump-line=no --compress-strings=no \
  --compress-pos=no --callgrind-out-file=$work/callgrind.out.%p $work/kubeletd.real "\$@"
SH
chmod +x "$work/bin/kubeletd"

SWIFTLET_BIN_DIR=$work/bin python3 - "$repo" <<'PY'
import os, signal, sys, time
sys.path.insert(0, os.path.join(sys.argv[1], "tests", "kubelet"))
import kubeletlib

PROBES = """    readinessProbe: {exec: {command: [true]}, periodSeconds: 1}
    livenessProbe: {tcpSocket: {port: 8080}, periodSeconds: 2, failureThreshold: 100}
"""

node = kubeletlib.Node(runtime="swiftlet-cri")
try:
    node.start_runtime()
    node.start_kubelet(startup_timeout=300, fileCheckFrequency="20s")  # under callgrind: slow start
    node.write_manifest("probed.yaml", kubeletlib.sleep_pod("probed", node.image, PROBES))
    node.wait_for(lambda: f"probed-{node.node_name}" in node.pods(), timeout=300, what="the probed pod")
    time.sleep(10)
    for path in ("/runningpods", "/metrics", "/stats/summary", f"/containerLogs/default/probed-{node.node_name}/main"):
        node.get(path)
    (node.manifests / "probed.yaml").unlink()
    node.wait_for(lambda: not node.pods(), timeout=300, what="the probed pod to go")
    n = 100
    for i in range(n):
        node.write_manifest(f"p{i}.yaml", kubeletlib.sleep_pod(f"p{i}", node.image))
    def all_running():
        pods = node.pods()
        return len(pods) == n and all(p.get("status", {}).get("phase") == "Running" for p in pods.values())
    node.wait_for(all_running, timeout=900, what="100 pods Running")
    time.sleep(30)  # steady state: relists, housekeeping, stats
    for path in ("/runningpods", "/metrics", "/stats/summary", "/healthz"):
        node.get(path)
    for i in range(n):
        (node.manifests / f"p{i}.yaml").unlink()
    node.wait_for(lambda: not node.pods(), timeout=900, what="the pods to go")
    kubeletd = node.procs["kubeletd"]
    os.kill(kubeletd.pid, signal.SIGTERM)  # callgrind writes its profile at exit
    kubeletd.wait(timeout=300)
finally:
    node.cleanup()
PY

python3 - "$work" "$bin/kubeletd" "$repo/Sources/kubeletd/kubeletd/link-order.txt" <<'PY'
import collections, glob, re, subprocess, sys
work, binary, out = sys.argv[1:4]
cost = collections.Counter()
for path in glob.glob(f"{work}/callgrind.out.*"):
    fn, after_call = None, False
    for line in open(path, errors="replace"):
        if line.startswith("fn="):
            fn, after_call = re.sub(r"'\d+$", "", line[3:].strip()), False
            cost[fn] += 0
        elif line.startswith("calls="):
            after_call = True  # the next cost line is the callee's, inclusive
        elif fn and line[:1].isdigit():
            if after_call:
                after_call = False
            else:
                fields = line.split()
                if len(fields) >= 2 and fields[1].isdigit():
                    cost[fn] += int(fields[1])
if not cost:
    sys.exit("link-order.sh: callgrind wrote no profile")
size = {}  # function name -> bytes, every function the binary defines
nm = subprocess.run(["nm", "-S", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
for line in nm.splitlines():
    f = line.split()
    if len(f) == 4 and f[2] in "tTwWi":
        size[f[3]] = int(f[1], 16)
names = [n for n, _ in sorted(cost.items(), key=lambda kv: (-kv[1], kv[0])) if n in size]
# glibc picks its string functions by CPU (IFUNC): valgrind's virtual CPU lacks AVX-512, so the
# variants this machine runs are missing from the profile. Every variant of a family the profile
# used goes at the end of the list (small functions, a few KiB in all).
family = re.compile(r"^(__(?:mem|str|stp|wmem|wcs|raw)[a-z]*?_)(?:sse2|ssse3|sse4|avx|evex|erms)")
families = {m.group(1) for m in map(family.match, names) if m} | {"__memmove_", "__memcpy_", "__memset_"}
listed = set(names)
names += sorted(n for n in size if n not in listed and any(n.startswith(f) for f in families))
with open(out, "w") as f:
    f.write("".join(n + "\n" for n in names))
print(f"link-order.sh: {len(names)} functions, {sum(size[n] for n in names) / 1e6:.1f} MB of code -> {out}")
PY

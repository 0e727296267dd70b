#!/usr/bin/env bash
# kubeletd static pod benchmark, over our CRI (swiftlet-cri) and containerd (+runc) in one run.
# For each runtime: N static busybox `sleep` pods written at once (time until all Running, start
# latency p50/p99 from manifest write to Running as /pods shows it, kubeletd RSS idle, at the moment
# all N are Running and 3 s later (settled), CPU seconds during the ramp, CRI calls per second with
# N pods idle, teardown time), then one pod alone (p50 over SINGLE rounds).
# Each runtime runs in its own throwaway network namespace (tests/kubelet/kubeletlib.py).
#   PODS=100 ROUNDS=3 SINGLE=20 RUNTIMES="swiftlet-cri containerd" bench/kubelet-pods.sh
# Needs root and the binaries (SWIFTLET_BIN_DIR, default: swift build --show-bin-path); for the
# figures that count, a static-stdlib release build of every product, e.g.
#   bash scripts/build-release.sh .build-release   (prints the directory)
#   SWIFTLET_BIN_DIR=$PWD/.build-release/release bench/kubelet-pods.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PODS="${PODS:-100}" ROUNDS="${ROUNDS:-3}" SINGLE="${SINGLE:-20}" RUNTIMES="${RUNTIMES:-swiftlet-cri containerd}"
exec python3 - <<'PY'
import json, os, statistics, sys, time
sys.path.insert(0, "tests/kubelet")
import kubeletlib

PODS, ROUNDS, SINGLE = int(os.environ["PODS"]), int(os.environ["ROUNDS"]), int(os.environ["SINGLE"])
RUNTIMES = os.environ["RUNTIMES"].split()

manifest = kubeletlib.sleep_pod

def proc_stats(pid):
    rss = 0
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return rss, cpu

def cri_calls(node):
    """Total CRI calls the kubelet made so far (kubelet_runtime_operations_total)."""
    total = 0.0
    for line in node.get("/metrics").splitlines():
        if line.startswith("kubelet_runtime_operations_total{"):
            total += float(line.split()[-1])
    return total

def running(node):
    out = {}
    for name, pod in node.pods().items():
        st = pod.get("status", {})
        cs = st.get("containerStatuses", [])
        if st.get("phase") == "Running" and cs and all("running" in c.get("state", {}) for c in cs):
            out[name] = True
    return out

def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(p / 100 * len(values) + 0.5)) - 1))]

def ramp(node, round_no):
    names = [f"b{round_no}-{i:03d}" for i in range(PODS)]
    pid = node.procs["kubeletd"].pid
    _, cpu0 = proc_stats(pid)
    written = {}
    t0 = time.time()
    for n in names:
        node.write_manifest(f"{n}.yaml", manifest(n, node.image))
        written[f"{n}-{node.node_name}"] = time.time()
    seen = {}
    while len(seen) < PODS:
        if time.time() - t0 > 600:
            raise RuntimeError(f"only {len(seen)}/{PODS} Running after 600 s")
        now = time.time()
        for name in running(node):
            if name in written and name not in seen:
                seen[name] = now
        time.sleep(0.05)
    all_running = max(seen.values()) - t0
    rss, cpu1 = proc_stats(pid)
    latencies = [seen[n] - written[n] for n in seen]
    # Steady state with N pods: resident memory once the ramp has settled (the kubelet hands
    # freed memory back after the first quiet relist), and how many CRI calls it makes per second.
    time.sleep(3)
    rss_settled, _ = proc_stats(pid)
    c0, s0 = cri_calls(node), time.time()
    time.sleep(5)
    calls_per_s = (cri_calls(node) - c0) / (time.time() - s0)
    t1 = time.time()
    for n in names:
        (node.manifests / f"{n}.yaml").unlink()
    left = None
    while node.pods() or node.runtime_containers():
        if time.time() - t1 > 60:
            left = len(node.runtime_containers())
            print(f"teardown: {left} runtime containers still present after 60 s", file=sys.stderr)
            break
        time.sleep(0.1)
    teardown = time.time() - t1
    return {"all_running": all_running, "p50": pct(latencies, 50), "p99": pct(latencies, 99), "rss_mib": rss,
            "rss_settled_mib": rss_settled,
            "cpu_s": cpu1 - cpu0, "cri_calls_s": calls_per_s, "teardown": teardown}

def single(node):
    out = []
    for i in range(SINGLE):
        name = f"one-{i}"
        t0 = time.time()
        node.write_manifest(f"{name}.yaml", manifest(name, node.image))
        full = f"{name}-{node.node_name}"
        while full not in running(node):
            if time.time() - t0 > 120:
                raise RuntimeError("single pod did not start in 120 s")
            time.sleep(0.01)
        out.append(time.time() - t0)
        (node.manifests / f"{name}.yaml").unlink()
        while node.pods():
            time.sleep(0.05)
    return out

results = {}
for runtime in RUNTIMES:
    if not kubeletlib.runtime_available(runtime):
        print(f"{runtime}: not available, skipped", file=sys.stderr)
        continue
    node = kubeletlib.Node(runtime=runtime)
    try:
        node.start_runtime()
        node.start_kubelet(fileCheckFrequency="20s")
        # Warm the image (first pull / unpack is not what this measures).
        node.write_manifest("warm.yaml", manifest("warm", node.image))
        node.wait_for(lambda: f"warm-{node.node_name}" in running(node), timeout=120, what="warm-up pod")
        (node.manifests / "warm.yaml").unlink()
        node.wait_for(lambda: not node.pods(), timeout=120, what="warm-up pod gone")
        time.sleep(3)
        idle_rss, _ = proc_stats(node.procs["kubeletd"].pid)
        rounds = []
        for r in range(ROUNDS):
            res = ramp(node, r)
            rounds.append(res)
            print(f"{runtime} round {r + 1}: {PODS} Running in {res['all_running']:.2f} s, p50 {res['p50']:.2f} s, "
                  f"p99 {res['p99']:.2f} s, kubeletd {idle_rss:.1f} -> {res['rss_mib']:.1f} MiB (settled {res['rss_settled_mib']:.1f}), {res['cpu_s']:.2f} CPU s, "
                  f"{res['cri_calls_s']:.1f} CRI calls/s idle, teardown {res['teardown']:.2f} s", file=sys.stderr)
        one = single(node)
        med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
        med["single_p50"] = statistics.median(one)
        med["idle_rss_mib"] = idle_rss
        results[runtime] = med
    finally:
        node.cleanup()

print(f"\nkubeletd static pods: {PODS} pods x {ROUNDS} rounds (medians), one pod alone p50 over {SINGLE}")
keys = [("all_running", "all Running (s)"), ("p50", "start p50 (s)"), ("p99", "start p99 (s)"),
        ("single_p50", "one pod p50 (s)"), ("idle_rss_mib", "kubeletd RSS idle"), ("rss_mib", "RSS all Running"),
        ("rss_settled_mib", "RSS N pods settled"),
        ("cpu_s", "kubeletd CPU (s)"), ("cri_calls_s", "CRI calls/s idle"), ("teardown", "teardown (s)")]
names = list(results)
print(f"{'metric':<22}" + "".join(f"{n:>16}" for n in names) + ("   ratio ours/containerd" if len(names) == 2 else ""))
for key, label in keys:
    row = f"{label:<22}" + "".join(f"{results[n][key]:>16.3f}" for n in names)
    if len(names) == 2 and results[names[1]][key]:
        row += f"   {results[names[0]][key] / results[names[1]][key]:.2f}"
    print(row)
PY

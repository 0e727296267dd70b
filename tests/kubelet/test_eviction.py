"""Hard eviction (evictionHard) end to end, over containerd and swiftlet-cri: on a standalone
node every pod is static, and static pods are critical (never evicted, like upstream), so what a
user sees is the node condition, its log lines and metrics, and pods that keep running. The
ranking that picks among non-static pods (which a standalone node does not have) is unit-tested
(EvictionTests).

Deterministic on a shared host: the kubelet's --root-dir is a 64 MiB tmpfs made for the test,
so nodefs.available is that tmpfs alone (no other process on the machine moves it), and a
BestEffort pod that writes 48 MiB into its emptyDir (which lives under --root-dir) crosses a
24 MiB threshold by itself. memory.available is checked with a threshold 256 MiB under
MemTotal (no running system has that much available, yet admission, which subtracts the
threshold from allocatable, still fits the pods). The eviction manager runs every second here
(--eviction-monitoring-period 1; upstream's fixed period is 10 s)."""
import re
import subprocess
import time

import pytest

import kubeletlib
from kubeletlib import bin_dir

TMPFS_MIB = 64


@pytest.fixture(scope="module", params=kubeletlib.RUNTIMES)
def evnode(request):
    """A runtime in its own namespace, --root-dir on a small tmpfs; each test starts its kubelet."""
    if not kubeletlib.runtime_available(request.param):
        pytest.skip(f"{request.param} is not available")
    n = kubeletlib.Node(runtime=request.param)
    try:
        n.root_dir.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_MIB}m", "kubelet-eviction", str(n.root_dir)], check=True)
        n.start_runtime()
        yield n
    finally:
        n.cleanup()  # unmounts everything under its temp dir, the tmpfs included


@pytest.fixture
def kubelet(evnode):
    """Starts kubeletd with the given evictionHard; at the end removes the test's manifests,
    waits for their pods to go and stops kubeletd."""
    written = []

    def start(eviction_hard, period=1):
        config = evnode.write_config(evictionHard=eviction_hard)
        evnode.spawn("kubeletd", [str(bin_dir() / "kubeletd"), "--config", str(config), "--root-dir", str(evnode.root_dir),
                                  "--hostname-override", evnode.node_name, "--eviction-monitoring-period", str(period)])
        evnode.wait_for(lambda: evnode.get("/healthz") == "ok", timeout=30, what="kubeletd healthz")
        return evnode

    def write(name, text):
        written.append(name)
        return evnode.write_manifest(name, text)

    start.write = write
    try:
        yield start
    finally:
        for name in written:
            (evnode.manifests / name).unlink(missing_ok=True)
        try:
            if "kubeletd" in evnode.procs:
                evnode.wait_for(lambda: not evnode.pods(), timeout=90, what="pods removed after the test")
        finally:
            evnode.stop("kubeletd")
            evnode.logs.pop("kubeletd", None)
            (evnode.tmp / "kubeletd.log").unlink(missing_ok=True)


def guaranteed(name, image):
    return f"""apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {image}
    command: [sleep, "3600"]
    resources:
      limits: {{cpu: 100m, memory: 64Mi}}
"""


def best_effort(name, image, script="sleep 3600"):
    return f"""apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: 1
  volumes:
  - name: scratch
    emptyDir: {{}}
  containers:
  - name: main
    image: {image}
    command: [sh, -c, "{script}"]
    volumeMounts:
    - {{name: scratch, mountPath: /scratch}}
"""


def status(node, name):
    return node.pods().get(f"{name}-{node.node_name}", {}).get("status", {})


def evicted_in_order(node):
    """Pod names (without the node suffix) in the order the eviction manager evicted them."""
    return [m.group(1) for line in node.log("kubeletd").splitlines() if line.rstrip().endswith("] evicting pod")
            for m in [re.search(r"pod=(?:[^/\s]+/)?(\S+?)-node-", line)] if m]


def metric(node, name, **labels):
    want = name + ("{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else "")
    for line in node.get("/metrics").splitlines():
        if line.startswith(want + " "):
            return float(line.split()[-1])
    return None


def running_unharmed(node, name):
    st = status(node, name)
    main = st.get("containerStatuses", [{}])[0]
    return st.get("phase") == "Running" and not st.get("reason") and "running" in main.get("state", {}) \
        and main.get("restartCount") == 0


def test_disk_pressure_is_reported_and_static_pods_are_never_evicted(kubelet):
    """Upstream never evicts static pods (IsCriticalPod): on a standalone node, where every pod
    comes from a manifest, pressure sets the node condition and is logged, and the pods run on.
    Eviction itself (ranking, one pod per period) applies to pods from other sources."""
    node = kubelet({"nodefs.available": "24Mi"})
    kubelet.write("keep.yaml", guaranteed("keep", node.image))
    node.wait_for(lambda: status(node, "keep").get("phase") == "Running", what="guaranteed pod Running")
    assert metric(node, "kubelet_node_condition", condition="DiskPressure") == 0
    kubelet.write("fill.yaml", best_effort(
        "fill", node.image, "sleep 1; dd if=/dev/zero of=/scratch/fill bs=1048576 count=48; sleep 3600"))

    node.wait_for(lambda: metric(node, "kubelet_node_condition", condition="DiskPressure") == 1, timeout=60,
                  what="DiskPressure True")
    node.wait_for(lambda: all(f"{n}-{node.node_name}" in "".join(
        l for l in node.log("kubeletd").splitlines() if "cannot evict a critical pod" in l) for n in ("fill", "keep")),
        timeout=30, what="both static pods reported as not evictable")
    log = node.log("kubeletd")
    assert "node condition DiskPressure is now True" in log and "nodefs.available available" in log
    assert metric(node, "kubelet_eviction_signal_available", eviction_signal="nodefs.available") < 24 * 2**20
    # Several monitoring periods later: nothing was evicted; both pods still run, never restarted.
    time.sleep(4)
    assert running_unharmed(node, "fill"), status(node, "fill")
    assert running_unharmed(node, "keep"), status(node, "keep")
    assert evicted_in_order(node) == []
    assert not metric(node, "kubelet_evictions", eviction_signal="nodefs.available")
    # Reported once per pod while the pressure lasts, not every period.
    assert node.log("kubeletd").count("cannot evict a critical pod") == 2

    # The operator relieves it: the writer's manifest removed, its emptyDir goes with it.
    (node.manifests / "fill.yaml").unlink()
    node.wait_for(lambda: "node condition DiskPressure is now False" in node.log("kubeletd"), timeout=60,
                  what="DiskPressure back to False")
    assert metric(node, "kubelet_node_condition", condition="DiskPressure") == 0
    assert running_unharmed(node, "keep")


def meminfo_kib():
    out = {}
    for line in open("/proc/meminfo"):
        key, value = line.split(":", 1)
        out[key] = int(value.split()[0])
    return out


def test_memory_pressure_is_reported_and_static_pods_keep_running(kubelet):
    # The kernel and the host's processes alone use more than 256 MiB, so the threshold stays
    # crossed for the whole test.
    mem = meminfo_kib()
    threshold = mem["MemTotal"] - 256 * 1024
    if mem["MemAvailable"] >= threshold:
        pytest.skip("this host has almost all its memory available")
    node = kubelet({"memory.available": f"{threshold}Ki"}, period=1)
    kubelet.write("be.yaml", best_effort("be", node.image))
    kubelet.write("g.yaml", guaranteed("g", node.image))
    node.wait_for(lambda: running_unharmed(node, "be") and running_unharmed(node, "g"), timeout=60, what="both pods Running")
    node.wait_for(lambda: node.log("kubeletd").count("cannot evict a critical pod") == 2, timeout=30,
                  what="both static pods reported as not evictable")
    time.sleep(3)
    assert metric(node, "kubelet_node_condition", condition="MemoryPressure") == 1
    assert "node condition MemoryPressure is now True" in node.log("kubeletd")
    assert running_unharmed(node, "be") and running_unharmed(node, "g")
    assert evicted_in_order(node) == []
    assert not metric(node, "kubelet_evictions", eviction_signal="memory.available")


def test_invalid_eviction_threshold_stops_startup_naming_the_field(tmp_path):
    config = tmp_path / "k.yaml"
    config.write_text('{"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration", '
                      '"evictionHard": {"memory.available": "0"}}')
    r = subprocess.run([str(bin_dir() / "kubeletd"), "--config", str(config), "--root-dir", str(tmp_path / "root")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "evictionHard[memory.available]" in r.stderr and "positive" in r.stderr, r.stderr

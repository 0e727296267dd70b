"""Hard eviction (evictionHard) end to end, over containerd and swiftlet-cri.

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


def test_disk_pressure_evicts_the_best_effort_writer_and_keeps_the_guaranteed_pod(kubelet):
    node = kubelet({"nodefs.available": "24Mi"})
    kubelet.write("keep.yaml", guaranteed("keep", node.image))
    node.wait_for(lambda: status(node, "keep").get("phase") == "Running", what="guaranteed pod Running")
    assert metric(node, "kubelet_node_condition", condition="DiskPressure") == 0
    kubelet.write("fill.yaml", best_effort(
        "fill", node.image, "sleep 1; dd if=/dev/zero of=/scratch/fill bs=1048576 count=48; sleep 3600"))

    st = node.wait_for(lambda: (s := status(node, "fill")).get("reason") == "Evicted" and s, timeout=60,
                       what="the BestEffort writer evicted")
    assert st["phase"] == "Failed"
    assert "nodefs.available" in st["message"] and "24Mi" in st["message"], st["message"]
    assert any(c["type"] == "DisruptionTarget" and c["status"] == "True" for c in st["conditions"])
    # The pressure came and went, and the kubelet said so.
    node.wait_for(lambda: "node condition DiskPressure is now False" in node.log("kubeletd"), timeout=30,
                  what="DiskPressure back to False")
    log = node.log("kubeletd")
    assert "node condition DiskPressure is now True" in log
    assert metric(node, "kubelet_evictions", eviction_signal="nodefs.available") == 1
    assert metric(node, "kubelet_node_condition", condition="DiskPressure") == 0
    # Its emptyDir is gone (that is what relieved the pressure); the space is back.
    free = metric(node, "kubelet_eviction_signal_available", eviction_signal="nodefs.available")
    assert free > 40 * 2**20, free

    # Several monitoring periods later: the Guaranteed pod still runs, the evicted one is not
    # restarted (a static pod stays Failed until its manifest changes).
    time.sleep(4)
    assert status(node, "keep").get("phase") == "Running"
    assert not status(node, "keep").get("reason")
    st = status(node, "fill")
    assert st["phase"] == "Failed" and st["reason"] == "Evicted"
    assert metric(node, "kubelet_evictions", eviction_signal="nodefs.available") == 1
    assert evicted_in_order(node) == ["fill"]

    # A changed manifest is a new pod: it runs.
    kubelet.write("fill.yaml", best_effort("fill", node.image, "sleep 3600"))
    node.wait_for(lambda: status(node, "fill").get("phase") == "Running", timeout=60, what="edited pod Running")


def meminfo_kib():
    out = {}
    for line in open("/proc/meminfo"):
        key, value = line.split(":", 1)
        out[key] = int(value.split()[0])
    return out


def test_memory_pressure_evicts_best_effort_before_guaranteed_one_per_period(kubelet):
    # The kernel and the host's processes alone use more than 256 MiB, so the threshold stays
    # crossed and the eviction manager keeps evicting, one pod per period, in upstream's order.
    mem = meminfo_kib()
    threshold = mem["MemTotal"] - 256 * 1024
    if mem["MemAvailable"] >= threshold:
        pytest.skip("this host has almost all its memory available")
    node = kubelet({"memory.available": f"{threshold}Ki"}, period=2)
    # BestEffort written first: a pass that sees only it or both must pick it first either way.
    kubelet.write("be.yaml", best_effort("be", node.image))
    kubelet.write("g.yaml", guaranteed("g", node.image))
    node.wait_for(lambda: status(node, "be").get("reason") == "Evicted", timeout=60, what="BestEffort evicted")
    node.wait_for(lambda: status(node, "g").get("reason") == "Evicted", timeout=60, what="Guaranteed evicted next")
    assert evicted_in_order(node) == ["be", "g"]
    assert metric(node, "kubelet_node_condition", condition="MemoryPressure") == 1
    assert metric(node, "kubelet_evictions", eviction_signal="memory.available") == 2
    assert "memory.available" in status(node, "g")["message"]


def test_invalid_eviction_threshold_stops_startup_naming_the_field(tmp_path):
    config = tmp_path / "k.yaml"
    config.write_text('{"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration", '
                      '"evictionHard": {"memory.available": "0"}}')
    r = subprocess.run([str(bin_dir() / "kubeletd"), "--config", str(config), "--root-dir", str(tmp_path / "root")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "evictionHard[memory.available]" in r.stderr and "positive" in r.stderr, r.stderr

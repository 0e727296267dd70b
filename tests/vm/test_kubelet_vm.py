"""kubeletd's QoS cgroups and OOM reporting on a real cgroup v2 hierarchy, over swiftlet-cri with
cgroup enforcement on (run inside the VM by tests/vm/run-vm-tests.sh, once per boot; skipped
where /sys/fs/cgroup lacks the controllers).

One node for the module: swiftlet-cri and kubeletd (cgroupsPerQOS: true, cgroupRoot
/swiftlet-kl-<tag>, podPidsLimit 1024) in a throwaway network namespace of the VM, a registry
on its loopback. Pods use hostNetwork (the namespace's), so no CNI is involved.
"""

import os
import sys
import time
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "kubelet"))
sys.path.insert(0, str(TESTS / "cri"))

import crilib  # noqa: E402
import kubeletlib  # noqa: E402

CGROOT = Path("/sys/fs/cgroup")
NEEDED = {"cpu", "memory", "pids"}
MiB = 1024 * 1024
POD_PIDS_LIMIT = 1024


def _controllers() -> set[str]:
    try:
        return set((CGROOT / "cgroup.controllers").read_text().split())
    except OSError:
        return set()


pytestmark = [
    pytest.mark.skipif(not NEEDED <= _controllers(),
                       reason=f"needs cgroup v2 at {CGROOT} with {sorted(NEEDED)} (run tests/vm/run-vm-tests.sh)"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
]


def weight(milli_cpu: int) -> int:
    """Upstream's milli-CPU → shares → cgroup v2 weight."""
    shares = max(2, milli_cpu * 1024 // 1000) if milli_cpu > 0 else 2
    return 1 + ((min(shares, 262144) - 2) * 9999) // 262142


def read(path: Path) -> str:
    return path.read_text().strip()


@pytest.fixture(scope="module")
def node():
    if not kubeletlib.runtime_available("swiftlet-cri") or not (kubeletlib.bin_dir() / "kubeletd").exists():
        pytest.skip(f"kubeletd / swiftlet-cri not built in {kubeletlib.bin_dir()}")
    n = kubeletlib.Node(runtime="swiftlet-cri")
    try:
        n.start_swiftlet_cri(cgroup_enforcement=True)
        n.start_kubelet(cgroupsPerQOS=True, podPidsLimit=POD_PIDS_LIMIT)
        yield n
    finally:
        n.cleanup()


def pod_yaml(name, image, command, resources="", restart="Always"):
    return f"""apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  hostNetwork: true
  restartPolicy: {restart}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {image}
    command: ["sh", "-c", {command!r}]
{resources}"""


def resources_block(requests=None, limits=None):
    lines = ["    resources:"]
    if requests:
        lines.append("      requests: {" + ", ".join(f"{k}: {v}" for k, v in requests.items()) + "}")
    if limits:
        lines.append("      limits: {" + ", ".join(f"{k}: {v}" for k, v in limits.items()) + "}")
    return "\n".join(lines) + "\n"


def full_name(node, name):
    return f"{name}-{node.node_name}"


def pod_of(node, name):
    return node.pods().get(full_name(node, name))


def running(node, name):
    p = pod_of(node, name)
    return p is not None and p.get("status", {}).get("phase") == "Running"


def sleeper_pids(cgroup: Path) -> list[int]:
    """Pids below `cgroup` whose command is `sleep 3600`, with the cgroup they are in."""
    found = []
    for procs in cgroup.rglob("cgroup.procs"):
        for pid in procs.read_text().split():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmd[:2] == [b"sleep", b"3600"]:
                found.append((int(pid), procs.parent))
    return found


def test_qos_cgroup_tree_values_and_removal(node):
    root = CGROOT / node.cgroup_root.lstrip("/")
    kubepods = root / "kubepods"
    manifests = {
        "guaranteed": pod_yaml("guaranteed", node.image, "sleep 3600",
                               resources_block(limits={"cpu": "200m", "memory": "64Mi"})),
        "burstable": pod_yaml("burstable", node.image, "sleep 3600",
                              resources_block(requests={"cpu": "100m", "memory": "32Mi"}, limits={"memory": "48Mi"})),
        "besteffort": pod_yaml("besteffort", node.image, "sleep 3600"),
    }
    try:
        for name, text in manifests.items():
            node.write_manifest(f"{name}.yaml", text)
        for name in manifests:
            node.wait_for(lambda: running(node, name), timeout=180, what=f"{name} Running")
        uid = {name: pod_of(node, name)["metadata"]["uid"] for name in manifests}
        assert {name: pod_of(node, name)["status"]["qosClass"] for name in manifests} == {
            "guaranteed": "Guaranteed", "burstable": "Burstable", "besteffort": "BestEffort"}

        # The tiers, with the controllers enabled on the way down.
        for cg in (CGROOT, root, kubepods, kubepods / "burstable", kubepods / "besteffort"):
            assert NEEDED <= set(read(cg / "cgroup.subtree_control").split()), cg
        mem_total = next(int(l.split()[1]) * 1024 for l in Path("/proc/meminfo").read_text().splitlines()
                         if l.startswith("MemTotal:"))
        assert read(kubepods / "memory.max") == str(mem_total)
        assert read(kubepods / "cpu.weight") == str(weight(os.cpu_count() * 1000))
        assert read(kubepods / "besteffort" / "cpu.weight") == "1"
        assert read(kubepods / "burstable" / "cpu.weight") == str(weight(100))

        # Guaranteed: directly under kubepods, with the pod's limits.
        g = kubepods / f"pod{uid['guaranteed']}"
        assert g.is_dir(), sorted(p.name for p in kubepods.iterdir())
        assert read(g / "cpu.max") == "20000 100000"
        assert read(g / "memory.max") == str(64 * MiB)
        assert read(g / "cpu.weight") == str(weight(200))
        assert read(g / "pids.max") == str(POD_PIDS_LIMIT)

        b = kubepods / "burstable" / f"pod{uid['burstable']}"
        assert read(b / "cpu.weight") == str(weight(100))
        assert read(b / "cpu.max") == "max 100000"
        assert read(b / "memory.max") == str(48 * MiB)
        assert read(b / "pids.max") == str(POD_PIDS_LIMIT)

        e = kubepods / "besteffort" / f"pod{uid['besteffort']}"
        assert read(e / "cpu.weight") == "1"
        assert read(e / "cpu.max") == "max 100000"
        assert read(e / "memory.max") == "max"

        # The containers' processes sit in cgroups beneath their pod's, with container-level values.
        for name, pod_cg in (("guaranteed", g), ("burstable", b), ("besteffort", e)):
            found = sleeper_pids(pod_cg)
            assert len(found) == 1, (name, found)
            pid, container_cg = found[0]
            assert container_cg != pod_cg and pod_cg in container_cg.parents
            own = Path(f"/proc/{pid}/cgroup").read_text().strip()
            assert own == "0::/" + str(container_cg.relative_to(CGROOT)), own
            assert read(container_cg / "memory.oom.group") == "1"
        _, gc = sleeper_pids(g)[0]
        assert read(gc / "memory.max") == str(64 * MiB)
        assert read(gc / "cpu.max") == "20000 100000"

        # Removal: the pod cgroup goes with the pod, and the burstable tier shrinks back.
        (node.manifests / "burstable.yaml").unlink()
        node.wait_for(lambda: pod_of(node, "burstable") is None and not b.exists(), timeout=120,
                      what="burstable pod and its cgroup gone")
        assert read(kubepods / "burstable" / "cpu.weight") == "1"
        assert g.is_dir() and e.is_dir()
    finally:
        for name in manifests:
            (node.manifests / f"{name}.yaml").unlink(missing_ok=True)
        node.wait_for(lambda: not node.pods(), timeout=120, what="pods removed")
    node.wait_for(lambda: not any(p.name.startswith("pod") for p in kubepods.rglob("pod*")), timeout=30,
                  what="every pod cgroup removed")


# A pipeline that keeps ~100 MB in tail's buffer: past a 32 MiB limit the kernel OOM-kills.
HOG = "head -c 100000000 /dev/zero | tail -c 100000000 > /dev/null; echo survived; sleep 3600"


def test_oom_killed_container_is_reported_by_the_kubelet(node):
    """memory.oom.group (set by the kubelet on cgroup v2) kills the whole container: the shell
    never prints "survived"; the kubelet shows OOMKilled / 137 as the last termination, and CRI
    ContainerStatus of the exited instance says the same (issue 6's OOM check, through the same
    boot to keep the VM step short)."""
    node.write_manifest("oom.yaml", pod_yaml("oom", node.image, HOG,
                                             resources_block(limits={"cpu": "500m", "memory": "32Mi"})))
    try:
        def last_terminated():
            p = pod_of(node, "oom")
            for cs in (p or {}).get("status", {}).get("containerStatuses", []):
                t = cs.get("lastState", {}).get("terminated")
                if t and cs.get("restartCount", 0) >= 1:
                    return t
            return None
        t = node.wait_for(last_terminated, timeout=240, what="oom container restarted after an OOM kill")
        assert t["reason"] == "OOMKilled", t
        assert t["exitCode"] == 137, t
        # The runtime agrees (ContainerStatus of the exited instance).
        c = crilib.Client(node.socket)
        try:
            uid = pod_of(node, "oom")["metadata"]["uid"]
            exited = [x for x in c.rt.ListContainers(c.pb.ListContainersRequest()).containers
                      if x.labels.get("io.kubernetes.pod.uid") == uid and x.state == c.pb.CONTAINER_EXITED]
            assert exited
            st = c.status(exited[0].id)
            assert (st.reason, st.exit_code) == ("OOMKilled", 137)
        finally:
            c.close()
    finally:
        (node.manifests / "oom.yaml").unlink(missing_ok=True)
        node.wait_for(lambda: pod_of(node, "oom") is None, timeout=120, what="oom pod removed")


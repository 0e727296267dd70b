"""Admission against allocatable: capacity (online CPUs, MemTotal) minus kubeReserved,
systemReserved and the hard memory eviction threshold; a pod that does not fit beside the admitted
ones is Failed with upstream's reason and message, and never reaches the runtime."""
import os

from housekeeping import CRI, node_fixture
from test_static_pods import status

node = node_fixture(kubeReserved={"cpu": "500m", "memory": "256Mi"}, systemReserved={"cpu": "300m"},
                    evictionHard={"memory.available": "100Mi"})


def pod(name, image, cpu=None, memory=None):
    requests = ", ".join(f"{k}: {v}" for k, v in (("cpu", cpu), ("memory", memory)) if v)
    resources = f"\n    resources: {{requests: {{{requests}}}}}" if requests else ""
    return f"""apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {image}
    command: [sleep, "3600"]{resources}
"""


def mem_total():
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no MemTotal")


def test_pods_beyond_allocatable_cpu_or_memory_are_rejected(node, manifests):
    allocatable_cpu = os.cpu_count() * 1000 - 800
    allocatable_memory = mem_total() - 256 * 2**20 - 100 * 2**20
    first = allocatable_cpu - 200
    manifests("big.yaml", pod("big", node.image, cpu=f"{first}m", memory="64Mi"))
    node.wait_for(lambda: status(node, "big").get("phase") == "Running", what="the first pod Running")
    manifests("nocpu.yaml", pod("nocpu", node.image, cpu="500m"))
    s = node.wait_for(lambda: status(node, "nocpu").get("phase") == "Failed" and status(node, "nocpu"),
                      what="the second pod Failed")
    assert s["reason"] == "OutOfcpu"
    assert s["message"] == (f"Node didn't have enough resource: cpu, requested: 500, used: {first}, "
                            f"capacity: {allocatable_cpu}")
    manifests("nomem.yaml", pod("nomem", node.image, memory=str(allocatable_memory - 64 * 2**20 + 1)))
    s = node.wait_for(lambda: status(node, "nomem").get("phase") == "Failed" and status(node, "nomem"),
                      what="the memory-hungry pod Failed")
    assert s["reason"] == "OutOfmemory"
    assert s["message"] == (f"Node didn't have enough resource: memory, requested: {allocatable_memory - 64 * 2**20 + 1}, "
                            f"used: {64 * 2**20}, capacity: {allocatable_memory}")
    # What fits exactly is admitted: the rest of the memory, and a pod without requests.
    manifests("fits.yaml", pod("fits", node.image, cpu="200m", memory=str(allocatable_memory - 64 * 2**20)))
    manifests("besteffort.yaml", pod("besteffort", node.image))
    node.wait_for(lambda: status(node, "fits").get("phase") == "Running" and status(node, "besteffort").get("phase") == "Running",
                  what="the pods that fit Running")
    assert "pod rejected" in node.log("kubeletd")
    # Rejected pods never reached the runtime.
    cri = CRI(node)
    try:
        names = {s.metadata.name for s in cri.sandboxes()}
    finally:
        cri.close()
    assert f"nocpu-{node.node_name}" not in names and f"nomem-{node.node_name}" not in names
    assert f"big-{node.node_name}" in names

"""Container GC: dead containers and sandboxes of a pod that no longer exists are removed through
CRI (with their log files); a live pod's newest dead container (a finished init container, the
one whose log is shown) is never removed. The leftovers are what a previous kubelet leaves in the
runtime: a sandbox labelled as ours, for a pod no manifest defines, with exited containers."""
import time
import uuid

from housekeeping import CRI, node_fixture
from test_static_pods import status

node = node_fixture(containerGCPeriod="2s")


def test_dead_containers_and_sandbox_of_a_gone_pod_are_removed(node, manifests):
    cri = CRI(node)
    pb = cri.pb
    uid = uuid.uuid4().hex
    logs = node.tmp / f"orphan-logs-{uid[:6]}"
    logs.mkdir()
    labels = {"io.swiftlet.kubelet": "true", "io.kubernetes.pod.uid": uid, "io.kubernetes.pod.name": "orphan",
              "io.kubernetes.pod.namespace": "default"}
    config = pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name="orphan", namespace="default", uid=uid, attempt=0),
        hostname="orphan", log_directory=str(logs), labels=labels,
        linux=pb.LinuxPodSandboxConfig(cgroup_parent=f"{node.cgroup_root}/kubepods/besteffort/pod{uid}"))
    try:
        if node.runtime == "swiftlet-cri":  # containerd has it imported; ours pulls from the local registry
            cri.img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=node.image)), timeout=120)
        sandbox = cri.rt.RunPodSandbox(pb.RunPodSandboxRequest(config=config), timeout=60).pod_sandbox_id
        ids = []
        for attempt in range(3):
            c = pb.ContainerConfig(metadata=pb.ContainerMetadata(name="main", attempt=attempt),
                                   image=pb.ImageSpec(image=node.image), command=["sh", "-c", f"echo attempt {attempt}"],
                                   log_path=f"main/{attempt}.log",
                                   labels={"io.kubernetes.pod.uid": uid, "io.kubernetes.container.name": "main"})
            cid = cri.rt.CreateContainer(pb.CreateContainerRequest(pod_sandbox_id=sandbox, config=c, sandbox_config=config),
                                         timeout=60).container_id
            cri.rt.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=60)
            ids.append(cid)
        node.wait_for(lambda: all(x.state == pb.CONTAINER_EXITED for x in cri.containers(**{"io.kubernetes.pod.uid": uid})),
                      what="the leftover containers exited")
        assert (logs / "main" / "2.log").exists()
        # The sandbox died too (a pod whose sandbox stopped while no kubelet cared for it).
        cri.rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sandbox), timeout=60)
        node.wait_for(lambda: not cri.containers(**{"io.kubernetes.pod.uid": uid}) and not cri.sandboxes(**{"io.kubernetes.pod.uid": uid}),
                      timeout=30, what="GC removed the gone pod's containers and sandbox")
        log = node.log("kubeletd")
        for cid in ids:
            assert cid in log
        assert "container GC: removed dead sandbox" in log and sandbox in log
        assert not (logs / "main" / "0.log").exists() and not (logs / "main" / "2.log").exists()
    finally:
        for c in cri.containers(**{"io.kubernetes.pod.uid": uid}):
            cri.rt.RemoveContainer(pb.RemoveContainerRequest(container_id=c.id), timeout=30)
        for s in cri.sandboxes(**{"io.kubernetes.pod.uid": uid}):
            cri.rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=s.id), timeout=30)
            cri.rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=s.id), timeout=30)
        cri.close()


def test_a_live_pods_finished_init_container_is_kept(node, manifests):
    manifests("withinit.yaml", f"""apiVersion: v1
kind: Pod
metadata: {{name: withinit}}
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
  - name: setup
    image: {node.image}
    command: [sh, -c, "echo setup done"]
  containers:
  - name: main
    image: {node.image}
    command: [sleep, "3600"]
""")
    node.wait_for(lambda: status(node, "withinit").get("phase") == "Running", what="Running")
    cri = CRI(node)
    try:
        uid = node.pods()[f"withinit-{node.node_name}"]["metadata"]["uid"]
        before = {c.id for c in cri.containers(**{"io.kubernetes.pod.uid": uid})}
        assert len(before) == 2
        time.sleep(7)  # three GC periods
        after = {c.id for c in cri.containers(**{"io.kubernetes.pod.uid": uid})}
        assert after == before
    finally:
        cri.close()
    init = status(node, "withinit")["initContainerStatuses"][0]
    assert init["state"]["terminated"]["reason"] == "Completed" and init["restartCount"] == 0
    assert "setup done" in node.get(f"/containerLogs/default/withinit-{node.node_name}/setup").splitlines()

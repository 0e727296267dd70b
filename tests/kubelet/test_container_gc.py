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


def test_old_sandboxes_of_a_live_pod_keep_only_the_newest_dead_container(node, manifests):
    """Two sandboxes a live pod had before (as when its sandbox died): the older one empty, the
    newer one with three exited `main` containers whose log path is the one the live container
    writes now. They are foreign to the kubelet (made here, as crictl would, without the
    kubelet's own labels; the ready one even names the pod in its metadata): the live pod's
    worker must neither adopt them nor start its running container again because of them."""
    manifests("live.yaml", f"""apiVersion: v1
kind: Pod
metadata: {{name: live}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {node.image}
    command: [sh, -c, "echo live; sleep 3600"]
""")
    node.wait_for(lambda: status(node, "live").get("phase") == "Running", what="Running")
    meta = node.pods()[f"live-{node.node_name}"]["metadata"]
    uid = meta["uid"]
    cri = CRI(node)
    pb = cri.pb
    live = cri.sandboxes(**{"io.kubernetes.pod.uid": uid})
    assert len(live) == 1
    # Without the pod-UID label (metadata.uid still names the pod): the live pod's worker, which
    # selects its sandboxes by that label, would otherwise adopt a ready injected sandbox.
    labels = {k: v for k, v in live[0].labels.items() if k != "io.kubernetes.pod.uid"}
    try:
        old_ids, dead = [], []
        for attempt in (1, 2):
            config = pb.PodSandboxConfig(
                metadata=pb.PodSandboxMetadata(name=live[0].metadata.name, namespace="default", uid=uid, attempt=attempt),
                hostname="live", log_directory=str(next(iter(glob_log_dirs(node, uid)))), labels=labels,
                linux=pb.LinuxPodSandboxConfig(cgroup_parent=f"{node.cgroup_root}/kubepods/besteffort/pod{uid}"))
            sandbox = cri.rt.RunPodSandbox(pb.RunPodSandboxRequest(config=config), timeout=60).pod_sandbox_id
            old_ids.append(sandbox)
            if attempt == 2:
                for n in range(1, 4):
                    # Runtimes reserve names per (container, pod, attempt) across sandboxes: attempts
                    # 1-3; the log path is the one the live attempt-0 container writes.
                    c = pb.ContainerConfig(metadata=pb.ContainerMetadata(name="main", attempt=n),
                                           image=pb.ImageSpec(image=node.image), command=["true"], log_path="main/0.log",
                                           labels={"io.kubernetes.pod.uid": uid, "io.kubernetes.container.name": "main"})
                    cid = cri.rt.CreateContainer(pb.CreateContainerRequest(pod_sandbox_id=sandbox, config=c, sandbox_config=config),
                                                 timeout=60).container_id
                    cri.rt.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=60)
                    dead.append(cid)
                    node.wait_for(lambda: cri.rt.ContainerStatus(pb.ContainerStatusRequest(container_id=cid), timeout=30)
                                  .status.state == pb.CONTAINER_EXITED, what="the injected container exited")
                    time.sleep(1.1)  # distinct creation times, newest last
            cri.rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sandbox), timeout=60)
        node.wait_for(lambda: {c.id for c in cri.containers(**{"io.kubernetes.pod.uid": uid})
                               if c.state == pb.CONTAINER_EXITED} == {dead[-1]}
                      and old_ids[0] not in {s.id for s in cri.sandboxes()},
                      timeout=30, what="GC kept only the newest dead container and dropped the empty old sandbox")
        remaining = {s.id for s in cri.sandboxes()}
        assert old_ids[1] in remaining and live[0].id in remaining  # one holds a container, one is ready
        # The live container's log (main/0.log, the same path as a removed dead one) survived.
        assert "live" in node.get(f"/containerLogs/default/live-{node.node_name}/main").splitlines()
        assert main_running(node), (status(node, "live"), node.log("kubeletd")[-3000:])
    finally:
        cri.close()


def glob_log_dirs(node, uid):
    import glob
    return glob.glob(f"/var/log/pods/default_live-{node.node_name}_{uid}")


def main_running(node):
    c = status(node, "live")["containerStatuses"][0]
    return "running" in c["state"] and c["restartCount"] == 0


FLAKY = """apiVersion: v1
kind: Pod
metadata: {{name: flaky}}
spec:
  terminationGracePeriodSeconds: 1
  volumes:
  - {{name: state, emptyDir: {{}}}}
  containers:
  - name: main
    image: {image}
    command: [sh, -c, "n=$(cat /state/n 2>/dev/null || echo 0); echo run-$n; echo $((n+1)) > /state/n; [ $n -ge 2 ] || exit $((n+3)); sleep 3600"]
    volumeMounts:
    - {{name: state, mountPath: /state}}
"""


def test_the_previous_instance_of_a_restarted_container_stays_and_older_ones_go(node, manifests):
    """Like upstream: a restart leaves the dead instance in the runtime (its termination is
    lastState, its log is `--previous`); container GC (maximumDeadContainersPerContainer 1)
    removes the older ones. `main` exits 3, then 4, then runs."""
    manifests("flaky.yaml", FLAKY.format(image=node.image))

    def third_run():
        s = status(node, "flaky")["containerStatuses"][0]
        return s if "running" in s["state"] and s["restartCount"] == 2 else None

    st = node.wait_for(third_run, timeout=90, what="main running on its third attempt")
    assert st["lastState"]["terminated"]["exitCode"] == 4, st
    assert st["lastState"]["terminated"]["reason"] == "Error", st
    uid = node.pods()[f"flaky-{node.node_name}"]["metadata"]["uid"]
    cri = CRI(node)
    pb = cri.pb
    try:
        def mains():
            return sorted((c.metadata.attempt, c.state) for c in cri.containers(**{"io.kubernetes.pod.uid": uid}))
        # Several GC periods: attempt 0 is collected, attempt 1 (the previous one) stays.
        node.wait_for(lambda: mains() == [(1, pb.CONTAINER_EXITED), (2, pb.CONTAINER_RUNNING)], timeout=30,
                      what="only the previous dead instance kept")
        time.sleep(5)
        assert mains() == [(1, pb.CONTAINER_EXITED), (2, pb.CONTAINER_RUNNING)]
    finally:
        cri.close()
    name = f"flaky-{node.node_name}"

    def runs(query=""):  # the script's lines (swiftlet-runc may log a cgroup warning first on this host)
        return [line for line in node.get(f"/containerLogs/default/{name}/main{query}").splitlines() if line.startswith("run-")]
    assert runs("?previous=true") == ["run-1"]
    assert runs() == ["run-2"]
    st = status(node, "flaky")["containerStatuses"][0]
    assert st["lastState"]["terminated"]["exitCode"] == 4 and st["restartCount"] == 2
    assert "container GC: removed dead container" in node.log("kubeletd")

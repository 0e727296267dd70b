"""A pod whose sandbox dies (stopped behind the kubelet's back: the infra process gone, its
containers with it) gets a new sandbox and new containers, and the restart count carries on
across sandboxes like upstream's: the new container must not reuse the name (attempt) the dead
one of the old sandbox still holds, which both runtimes refuse."""
import time

from housekeeping import CRI, node_fixture
from test_static_pods import main_state, pod_yaml, status

node = node_fixture()


def test_dead_sandbox_is_replaced_and_restart_count_continues(node, manifests):
    manifests("phoenix.yaml", pod_yaml("phoenix", "sleep 3600", image=node.image))
    node.wait_for(lambda: status(node, "phoenix").get("phase") == "Running", what="phoenix Running")
    cri = CRI(node)
    pb = cri.pb
    try:
        uid = node.pods()[f"phoenix-{node.node_name}"]["metadata"]["uid"]
        [old] = cri.sandboxes(**{"io.kubernetes.pod.uid": uid})
        cri.rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=old.id), timeout=60)

        def replaced():
            ready = [s for s in cri.sandboxes(**{"io.kubernetes.pod.uid": uid}) if s.state == pb.SANDBOX_READY]
            if not ready or ready[0].id == old.id:
                return None
            state = main_state(node, "phoenix")
            return (ready[0], state) if "running" in state["state"] else None

        new, state = node.wait_for(replaced, timeout=90, what="a new sandbox with main running again")
        assert new.metadata.attempt >= 1
        assert state["restartCount"] >= 1
        mains = [c for c in cri.containers(**{"io.kubernetes.pod.uid": uid}) if c.metadata.name == "main"]
        running = [c for c in mains if c.state == pb.CONTAINER_RUNNING]
        assert len(running) == 1 and running[0].pod_sandbox_id == new.id
        assert running[0].metadata.attempt >= 1
        assert "name is reserved" not in node.log("kubeletd") and "already exists" not in node.log("kubeletd")
    finally:
        cri.close()


def test_failing_sandbox_creation_backs_off_like_upstream_and_spares_other_pods(node, manifests):
    """RunPodSandbox fails for a pod whose sandbox asks for a sysctl the kernel does not have
    (both runtimes refuse to start such a pause container). Upstream requeues a pod whose sync
    failed after 10 s jittered by up to 50 % (not every second), records FailedCreatePodSandBox
    (an event; here a log line) and shows the containers Waiting/ContainerCreating. Another pod
    starts meanwhile."""
    manifests("nosandbox.yaml", f"""apiVersion: v1
kind: Pod
metadata: {{name: nosandbox}}
spec:
  terminationGracePeriodSeconds: 1
  securityContext:
    sysctls: [{{name: net.ipv4.swiftlet_no_such_knob, value: "1"}}]
  containers:
  - name: main
    image: {node.image}
    command: [sleep, "3600"]
""")
    marker = "Failed to create pod sandbox"

    def failures():
        return [line for line in node.log("kubeletd").splitlines() if marker in line and "nosandbox" in line]

    manifests("neighbour.yaml", pod_yaml("neighbour", "sleep 3600", image=node.image))
    # Note when each attempt's log line appears, until three attempts are seen.
    seen, count, neighbour_running = [], 0, False
    deadline = time.time() + 75
    while len(seen) < 3 and time.time() < deadline:
        now = len(failures())
        if now > count:
            seen += [time.time()] * (now - count)
            count = now
        if not neighbour_running and len(seen) < 2:
            neighbour = node.pods().get(f"neighbour-{node.node_name}", {})
            neighbour_running = neighbour.get("status", {}).get("phase") == "Running"
        time.sleep(0.2)
    assert len(seen) >= 3, (seen, failures())
    # The other pod did not wait for the failing one's retries: Running before its second attempt.
    assert neighbour_running, status(node, "neighbour")
    gaps = [b - a for a, b in zip(seen, seen[1:])]
    assert all(9.5 <= g <= 17 for g in gaps), (gaps, failures())
    line = failures()[0]
    assert "FailedCreatePodSandBox" in line and "swiftlet_no_such_knob" in line, line
    st = status(node, "nosandbox")
    assert st["phase"] == "Pending"
    assert main_state(node, "nosandbox")["state"]["waiting"]["reason"] == "ContainerCreating"
    assert status(node, "neighbour")["phase"] == "Running"

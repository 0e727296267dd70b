"""A pod whose sandbox dies (stopped behind the kubelet's back: the infra process gone, its
containers with it) gets a new sandbox and new containers, and the restart count carries on
across sandboxes like upstream's: the new container must not reuse the name (attempt) the dead
one of the old sandbox still holds, which both runtimes refuse."""
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

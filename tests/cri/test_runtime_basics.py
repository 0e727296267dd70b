"""Version, Status, RuntimeConfig and the sandbox lifecycle through the socket."""

import os
import time
from pathlib import Path

import grpc
import pytest

from conftest import IMAGE


def test_version_status_runtime_config(cri):
    pb = cri.pb
    v = cri.rt.Version(pb.VersionRequest(version="v1"))
    assert v.runtime_name == "swiftlet" and v.runtime_api_version == "v1"
    st = cri.rt.Status(pb.StatusRequest(verbose=True))
    conditions = {c.type: c.status for c in st.status.conditions}
    assert conditions == {"RuntimeReady": True, "NetworkReady": True}
    rc = cri.rt.RuntimeConfig(pb.RuntimeConfigRequest())
    assert rc.linux.cgroup_driver == pb.CGROUPFS


def test_sandbox_lifecycle_network_and_files(env, cri, images):
    pb = cri.pb
    cfg = cri.sandbox_config(hostname="web-1", dns_config=pb.DNSConfig(servers=["10.96.0.10"], searches=["svc.local"],
                                                                        options=["ndots:5"]),
                             labels={"app": "web"})
    sid = cri.run_pod(cfg)
    st = cri.rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=sid, verbose=True)).status
    assert st.state == pb.SANDBOX_READY
    assert st.network.ip.startswith("10.89.0.")
    assert st.metadata.name == cfg.metadata.name
    netns = env.tmp / "netns" / sid
    assert netns.exists()
    # The pod's address answers from the node (the daemon's namespace) over the bridge.
    from crilib import sh
    assert sh("busybox", "ping", "-c", "1", "-W", "2", st.network.ip, ns=env.ns, check=False).returncode == 0
    listed = cri.rt.ListPodSandbox(pb.ListPodSandboxRequest(filter=pb.PodSandboxFilter(label_selector={"app": "web"}))).items
    assert [s.id for s in listed] == [sid]
    assert cri.rt.ListPodSandbox(pb.ListPodSandboxRequest(
        filter=pb.PodSandboxFilter(label_selector={"app": "other"}))).items == []
    cid = cri.create(sid, cfg, "c", IMAGE, command=["sh", "-c", "cat /etc/resolv.conf; hostname; sleep 60"])
    cri.start(cid)
    r = cri.exec_sync(cid, ["cat", "/etc/resolv.conf"])
    assert b"nameserver 10.96.0.10" in r.stdout and b"search svc.local" in r.stdout and b"options ndots:5" in r.stdout
    assert cri.exec_sync(cid, ["hostname"]).stdout.strip() == b"web-1"

    cri.rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid))
    st = cri.rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=sid)).status
    assert st.state == pb.SANDBOX_NOTREADY
    assert cri.status(cid).state == pb.CONTAINER_EXITED
    assert not netns.exists()
    # Idempotent.
    cri.rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid))
    cri.rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid))
    cri.rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid))
    with pytest.raises(grpc.RpcError) as err:
        cri.rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=sid))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    # Nothing left: no IP reserved, no mount, no process of the pod.
    assert not any(p.name.startswith("10.89.") for p in (env.tmp / "ipam").rglob("*") if p.is_file())
    assert not [m for m in env.mounts_under() if sid in m]


def test_list_filters_see_an_exit_nobody_asked_about_yet(cri, images):
    pb = cri.pb
    cfg = cri.sandbox_config(labels={"app": "filters"})
    sid = cri.run_pod(cfg)
    cid = cri.create(sid, cfg, "quick", IMAGE, command=["true"], labels={"k": "v"})
    cri.start(cid)
    # No status call in between: the state filter must see the exit the monitor recorded.
    exited = pb.ContainerFilter(state=pb.ContainerStateValue(state=pb.CONTAINER_EXITED), label_selector={"k": "v"})
    deadline = time.time() + 10
    while time.time() < deadline:
        found = cri.rt.ListContainers(pb.ListContainersRequest(filter=exited)).containers
        if found:
            break
        time.sleep(0.05)
    assert [c.id for c in found] == [cid] and found[0].state == pb.CONTAINER_EXITED
    running = pb.ContainerFilter(state=pb.ContainerStateValue(state=pb.CONTAINER_RUNNING), label_selector={"k": "v"})
    assert list(cri.rt.ListContainers(pb.ListContainersRequest(filter=running)).containers) == []
    other = pb.ContainerFilter(label_selector={"k": "other"})
    assert list(cri.rt.ListContainers(pb.ListContainersRequest(filter=other)).containers) == []
    by_label = pb.PodSandboxFilter(label_selector={"app": "filters"},
                                   state=pb.PodSandboxStateValue(state=pb.SANDBOX_READY))
    assert [s.id for s in cri.rt.ListPodSandbox(pb.ListPodSandboxRequest(filter=by_label)).items] == [sid]

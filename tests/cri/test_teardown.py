"""Many pods torn down at once, the way a kubelet does when a namespace goes: StopContainer,
StopPodSandbox, RemoveContainer and RemovePodSandbox for every pod, all in flight together
(over 100 concurrent RPCs on one connection), while other clients list and inspect. Every call
succeeds, and nothing is left: processes, mounts, network namespaces, IPs, cgroups, state and
no error in the daemon's log."""

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc

from conftest import IMAGE

PODS = 26  # 4 calls each: over the 100 concurrent streams NIO allows by default


def test_concurrent_stop_and_remove_of_many_pods_leaves_nothing(env, cri, images):
    pb = cri.pb
    log = env.tmp / "logs" / "cri.log"
    mark = log.stat().st_size

    def make(i):
        cfg = cri.sandbox_config(name=f"many-{i}")
        sid = cri.run_pod(cfg)
        cid = cri.create(sid, cfg, "app", IMAGE, command=["sleep", "3600"])
        cri.start(cid)
        return sid, cid

    with ThreadPoolExecutor(max_workers=6) as pool:
        pods = list(pool.map(make, range(PODS)))
    sandboxes = [cri.rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=s, verbose=True)) for s, _ in pods]
    ips = [s.status.network.ip for s in sandboxes]
    assert len(set(ips)) == PODS and all(ips)
    netns_files = set(os.listdir(env.tmp / "netns"))
    assert len(netns_files) == PODS
    ipam = next((env.tmp / "ipam").iterdir())
    assert {ip for ip in ips} <= set(os.listdir(ipam))
    assert len([d for d in env.cgroup_dirs() if "/pod-" in d]) >= PODS
    daemon_side = {env.daemon.pid} | {p.pid for p in env.procs}
    assert len([p for p in env.our_processes() if p not in daemon_side]) >= 2 * PODS  # monitors, pause

    errors = []
    lock = threading.Lock()
    stop = threading.Event()

    def poll():
        # A relist beside the teardown (on the same connection): its calls must not fail on a
        # container being removed.
        c = cri
        try:
            while not stop.is_set():
                for ctr in c.rt.ListContainers(pb.ListContainersRequest(), timeout=60).containers:
                    try:
                        c.rt.ContainerStatus(pb.ContainerStatusRequest(container_id=ctr.id), timeout=60)
                    except grpc.RpcError as e:
                        if e.code() != grpc.StatusCode.NOT_FOUND:
                            raise
                for s in c.rt.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=60).items:
                    try:
                        c.rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=s.id), timeout=60)
                    except grpc.RpcError as e:
                        if e.code() != grpc.StatusCode.NOT_FOUND:
                            raise
        except grpc.RpcError as e:
            with lock:
                errors.append(f"poll: {e.code()} {e.details()}")

    def call(what):
        name, request = what
        try:
            getattr(cri.rt, name)(request, timeout=120)
        except grpc.RpcError as e:
            with lock:
                errors.append(f"{name}: {e.code()} {e.details()}")

    calls = []
    for sid, cid in pods:
        calls += [("StopContainer", pb.StopContainerRequest(container_id=cid, timeout=2)),
                  ("StopPodSandbox", pb.StopPodSandboxRequest(pod_sandbox_id=sid)),
                  ("RemoveContainer", pb.RemoveContainerRequest(container_id=cid)),
                  ("RemovePodSandbox", pb.RemovePodSandboxRequest(pod_sandbox_id=sid))]
    pollers = [threading.Thread(target=poll) for _ in range(4)]
    for t in pollers:
        t.start()
    try:
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            list(pool.map(call, calls))
    finally:
        stop.set()
        for t in pollers:
            t.join()
    assert errors == []

    # The CRI view.
    assert list(cri.rt.ListPodSandbox(pb.ListPodSandboxRequest()).items) == []
    assert list(cri.rt.ListContainers(pb.ListContainersRequest()).containers) == []
    # Processes: only the daemon and the registry remain.
    time.sleep(0.2)
    left = [p for p in env.our_processes() if p not in daemon_side]
    assert left == [], [Path(f"/proc/{p}/cmdline").read_bytes() for p in left if Path(f"/proc/{p}").exists()]
    # Mounts (rootfs snapshots, pinned network namespaces) and namespace files.
    assert env.mounts_under() == []
    assert os.listdir(env.tmp / "netns") == []
    # IPs released: host-local keeps only its bookkeeping files.
    assert set(os.listdir(ipam)) <= {"last_reserved_ip.0", "lock"}
    # cgroups: no pod cgroup left under the test's parent.
    assert [d for d in env.cgroup_dirs() if "/pod-" in d] == []
    # State: records, bundles, monitor directories and the runtime's container state.
    for d in ("root/sandboxes", "root/containers", "state/sandboxes", "state/containers"):
        assert os.listdir(env.tmp / d) == [], d
    assert os.listdir(env.tmp / "runc") == []
    # And the daemon logged no error or warning while doing it.
    with open(log, "rb") as f:
        f.seek(mark)
        bad = [line for line in f.read().decode(errors="replace").splitlines()
               if " error " in line or " warning " in line or " critical " in line]
    assert bad == []

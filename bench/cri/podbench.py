"""The CRI pod-start workload against one CRI socket: RunPodSandbox + CreateContainer +
StartContainer per pod, N pods with C at once; prints JSON with per-pod latencies (ms), the
daemon's RSS idle and at N pods, and the RSS/PSS of the per-container helper processes.

usage: podbench.py SOCKET IMAGE DAEMON_PID HELPER_NAME [--pods 50] [--concurrency 20]
Generated stubs are imported from $CRI_STUBS."""

import argparse
import json
import os
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.environ["CRI_STUBS"])
import grpc  # noqa: E402
import api_pb2 as pb  # noqa: E402
import api_pb2_grpc  # noqa: E402


def rss_kib(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid):
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss(pid):
    """RSS of a daemon and its descendants that are not container helpers (containerd has none)."""
    return rss_kib(pid)


def helpers(name):
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                comm = open(f"/proc/{entry}/comm").read().strip()
            except OSError:
                continue
            if comm == name[:15]:
                out.append(int(entry))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("socket")
    ap.add_argument("image")
    ap.add_argument("daemon_pid", type=int)
    ap.add_argument("helper")
    ap.add_argument("--pods", type=int, default=50)
    ap.add_argument("--concurrency", type=int, default=20)
    ap.add_argument("--teardown-concurrency", type=int, default=0,
                    help="pods stopped and removed at once (default: all of them)")
    args = ap.parse_args()
    channel = grpc.insecure_channel(f"unix://{args.socket}")
    rt = api_pb2_grpc.RuntimeServiceStub(channel)
    img = api_pb2_grpc.ImageServiceStub(channel)
    img.PullImage(pb.PullImageRequest(image=pb.ImageSpec(image=args.image)), timeout=300)
    time.sleep(0.5)
    idle = tree_rss(args.daemon_pid)
    helpers_before = set(helpers(args.helper))
    tag = uuid.uuid4().hex[:6]
    lock = threading.Lock()
    latencies = []
    ids = []

    def one(i):
        cfg = pb.PodSandboxConfig(metadata=pb.PodSandboxMetadata(name=f"bench-{tag}-{i}", namespace="bench",
                                                                 uid=uuid.uuid4().hex),
                                  hostname=f"bench-{i}", linux=pb.LinuxPodSandboxConfig())
        t0 = time.perf_counter()
        sid = rt.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg), timeout=300).pod_sandbox_id
        ccfg = pb.ContainerConfig(metadata=pb.ContainerMetadata(name="app"), image=pb.ImageSpec(image=args.image),
                                  command=["sleep", "3600"], linux=pb.LinuxContainerConfig())
        cid = rt.CreateContainer(pb.CreateContainerRequest(pod_sandbox_id=sid, config=ccfg, sandbox_config=cfg),
                                 timeout=300).container_id
        rt.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=300)
        dt = (time.perf_counter() - t0) * 1000
        with lock:
            latencies.append(dt)
            ids.append(sid)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        list(pool.map(one, range(args.pods)))
    wall = time.perf_counter() - t0
    time.sleep(0.5)
    loaded = tree_rss(args.daemon_pid)
    new_helpers = [p for p in helpers(args.helper) if p not in helpers_before]
    helper_rss = sorted(rss_kib(p) for p in new_helpers)
    helper_pss = sorted(pss_kib(p) for p in new_helpers)
    # Teardown, timed: StopPodSandbox + RemovePodSandbox for every pod at once (as a kubelet does
    # when a namespace is deleted), then until no sandbox is listed and no helper is left.
    errors = []

    def remove(sid):
        try:
            rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid), timeout=300)
            rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid), timeout=300)
        except grpc.RpcError as e:
            with lock:
                errors.append(f"{sid[:12]}: {e.code()} {e.details()}")
    # Meanwhile a poller lists and inspects, as a kubelet's relist does: its calls must not fail
    # either (a status refresh racing a removal once failed on a vanished container.json).
    stop_polling = threading.Event()

    def poll():
        while not stop_polling.is_set():
            try:
                for c in rt.ListContainers(pb.ListContainersRequest(), timeout=60).containers:
                    try:
                        rt.ContainerStatus(pb.ContainerStatusRequest(container_id=c.id), timeout=60)
                    except grpc.RpcError as e:
                        if e.code() != grpc.StatusCode.NOT_FOUND:
                            raise
                rt.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=60)
            except grpc.RpcError as e:
                with lock:
                    errors.append(f"poll: {e.code()} {e.details()}")
            time.sleep(0.05)
    poller = threading.Thread(target=poll)
    t0 = time.perf_counter()
    poller.start()
    with ThreadPoolExecutor(max_workers=args.teardown_concurrency or len(ids)) as pool:
        list(pool.map(remove, ids))
    while any(s.id in ids for s in rt.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=60).items) \
            or any(p in new_helpers for p in helpers(args.helper)):
        if time.perf_counter() - t0 > 300:
            errors.append("sandboxes or helpers still present 300 s after the teardown began")
            break
        time.sleep(0.05)
    teardown = time.perf_counter() - t0
    stop_polling.set()
    poller.join()
    channel.close()
    print(json.dumps({"latencies_ms": latencies, "wall_s": wall, "rss_idle_kib": idle, "rss_loaded_kib": loaded,
                      "helpers": len(new_helpers), "helper_rss_kib": helper_rss, "helper_pss_kib": helper_pss,
                      "teardown_s": teardown, "teardown_errors": errors}))


if __name__ == "__main__":
    main()

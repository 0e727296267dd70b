"""UpdatePodSandboxResources writes the pod cgroup; checkpointing answers UNIMPLEMENTED naming
the feature."""

import os
from pathlib import Path

import grpc
import pytest

from conftest import IMAGE


def pod_cgroup(env, cri, sid):
    import json
    info = json.loads(cri.rt.PodSandboxStatus(cri.pb.PodSandboxStatusRequest(pod_sandbox_id=sid, verbose=True)).info["info"])
    root = "/sys/fs/cgroup" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "/sys/fs/cgroup/unified"
    return Path(root + info["cgroup"])


def test_update_pod_sandbox_resources_writes_the_pod_cgroup(env, cri, images):
    pb = cri.pb
    cfg = cri.sandbox_config()
    sid = cri.run_pod(cfg)
    cid = cri.create(sid, cfg, "c", IMAGE, command=["sleep", "60"])
    cri.start(cid)
    cgroup = pod_cgroup(env, cri, sid)
    assert cgroup.is_dir()
    # cgroup.max.descendants exists in every v2 cgroup (no controller needed): the write is
    # visible from the host. The memory limit needs the memory controller, which this host's
    # v2 tree lacks; the test daemon runs with cgroup_enforcement false, so it is skipped with a
    # warning instead of failing.
    res = pb.LinuxContainerResources(memory_limit_in_bytes=128 << 20, unified={"cgroup.max.descendants": "40"})
    cri.rt.UpdatePodSandboxResources(pb.UpdatePodSandboxResourcesRequest(
        pod_sandbox_id=sid, resources=res, overhead=pb.LinuxContainerResources(memory_limit_in_bytes=1 << 20)))
    assert (cgroup / "cgroup.max.descendants").read_text().strip() == "40"
    if (cgroup / "memory.max").exists():
        assert (cgroup / "memory.max").read_text().strip() == str(128 << 20)
    else:
        assert "resource limits not enforced" in env.daemon_log()
    # Bad input names the field; nothing is written.
    for bad, field in ((pb.LinuxContainerResources(memory_limit_in_bytes=-1), "resources.memory_limit_in_bytes"),
                       (pb.LinuxContainerResources(unified={"../../escape": "1"}), "resources.unified")):
        with pytest.raises(grpc.RpcError) as err:
            cri.rt.UpdatePodSandboxResources(pb.UpdatePodSandboxResourcesRequest(pod_sandbox_id=sid, resources=bad))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in err.value.details()
    assert (cgroup / "cgroup.max.descendants").read_text().strip() == "40"
    with pytest.raises(grpc.RpcError) as err:
        cri.rt.UpdatePodSandboxResources(pb.UpdatePodSandboxResourcesRequest(pod_sandbox_id="", resources=res))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "pod_sandbox_id" in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        cri.rt.UpdatePodSandboxResources(pb.UpdatePodSandboxResourcesRequest(pod_sandbox_id="nope", resources=res))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    # A stopped pod has nothing to update.
    cri.rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid))
    with pytest.raises(grpc.RpcError) as err:
        cri.rt.UpdatePodSandboxResources(pb.UpdatePodSandboxResourcesRequest(pod_sandbox_id=sid, resources=res))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "not ready" in err.value.details()


def test_checkpointing_is_unimplemented_and_says_so(cri):
    pb = cri.pb
    with pytest.raises(grpc.RpcError) as err:
        cri.rt.CheckpointContainer(pb.CheckpointContainerRequest(container_id="x", location="/tmp/x.tar"))
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "CheckpointContainer" in err.value.details() and "checkpoint" in err.value.details().lower()

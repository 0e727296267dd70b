"""Bad requests get the right gRPC code and a message naming the field; a failure midway
(CNI ADD) leaves no network namespace, address, cgroup, process or mount behind."""

import json
import os

import grpc
import pytest

from conftest import IMAGE


def code_and_message(call):
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value.code(), err.value.details()


def test_sandbox_without_name_is_invalid(cri):
    pb = cri.pb
    cfg = cri.sandbox_config()
    cfg.metadata.name = ""
    code, msg = code_and_message(lambda: cri.rt.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "config.metadata.name" in msg


def test_same_sandbox_name_twice_already_exists(cri):
    pb = cri.pb
    cfg = cri.sandbox_config()
    cri.run_pod(cfg)
    code, msg = code_and_message(lambda: cri.rt.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg)))
    assert code == grpc.StatusCode.ALREADY_EXISTS
    assert cfg.metadata.name in msg


def test_unknown_ids_not_found_and_empty_ids_invalid(cri):
    pb = cri.pb
    code, msg = code_and_message(lambda: cri.rt.ContainerStatus(pb.ContainerStatusRequest(container_id="nope")))
    assert code == grpc.StatusCode.NOT_FOUND and "nope" in msg
    code, msg = code_and_message(lambda: cri.rt.StartContainer(pb.StartContainerRequest(container_id="")))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "container_id" in msg
    code, msg = code_and_message(lambda: cri.rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id="")))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "pod_sandbox_id" in msg
    cfg = cri.sandbox_config()
    code, msg = code_and_message(lambda: cri.create("0123456789", cfg, "c", IMAGE, command=["true"]))
    assert code == grpc.StatusCode.NOT_FOUND and "0123456789" in msg
    # Stop/remove of unknown objects succeed (the CRI's idempotency).
    cri.rt.StopContainer(pb.StopContainerRequest(container_id="nope", timeout=1))
    cri.rt.RemoveContainer(pb.RemoveContainerRequest(container_id="nope"))
    cri.rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id="nope"))
    cri.rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id="nope"))


def test_bad_container_configs_name_the_field(cri, images):
    pb = cri.pb
    cfg = cri.sandbox_config()
    sid = cri.run_pod(cfg)
    code, msg = code_and_message(lambda: cri.create(sid, cfg, "c", ""))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "config.image.image" in msg
    code, msg = code_and_message(lambda: cri.create(sid, cfg, "c", "127.0.0.1:5000/absent:1", command=["true"]))
    assert code == grpc.StatusCode.NOT_FOUND and "absent" in msg
    code, msg = code_and_message(lambda: cri.create(
        sid, cfg, "c", IMAGE, command=["true"], mounts=[pb.Mount(container_path="rel", host_path="/tmp")]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "config.mounts[0].container_path" in msg
    sc = pb.LinuxContainerSecurityContext(capabilities=pb.Capability(add_capabilities=["CAP_NOT_REAL"]))
    code, msg = code_and_message(lambda: cri.create(
        sid, cfg, "c", IMAGE, command=["true"], linux=pb.LinuxContainerConfig(security_context=sc)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "add_capabilities[0]" in msg
    # A relative log path needs the sandbox's log_directory (else it would land in the
    # daemon's working directory).
    code, msg = code_and_message(lambda: cri.create(sid, cfg, "c", IMAGE, command=["true"], log_path="c.log"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "config.log_path" in msg
    # None of the failed creations left a container or a name reserved.
    assert cri.rt.ListContainers(pb.ListContainersRequest()).containers == []
    cid = cri.create(sid, cfg, "c", IMAGE, command=["true"])
    assert cid


def test_failed_cni_add_rolls_back_everything(env, cri):
    pb = cri.pb
    conf_path = env.tmp / "cni-conf" / "10-test.conflist"
    original = conf_path.read_text()
    broken = json.loads(original)
    broken["plugins"].append({"type": "no-such-plugin"})
    before_procs = set(env.processes_in_netns())
    conf_path.write_text(json.dumps(broken))
    try:
        cfg = cri.sandbox_config()
        code, msg = code_and_message(lambda: cri.rt.RunPodSandbox(pb.RunPodSandboxRequest(config=cfg)))
        assert code == grpc.StatusCode.UNKNOWN and "no-such-plugin" in msg
    finally:
        conf_path.write_text(original)
    assert os.listdir(env.tmp / "netns") == []
    ips = [p for p in (env.tmp / "ipam").rglob("*") if p.is_file() and p.name.startswith("10.")]
    assert ips == []
    assert cri.rt.ListPodSandbox(pb.ListPodSandboxRequest()).items == []
    assert [m for m in env.mounts_under() if "/netns/" in m] == []
    assert [d for d in env.cgroup_dirs() if "pod-" in d] == []
    assert set(env.processes_in_netns()) <= before_procs
    # The name was released: the same pod runs once the network works again.
    assert cri.run_pod(cfg)

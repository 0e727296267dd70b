"""hostNetwork pods share the node's network namespace; hostPort mappings reach the pod
through the CNI portmap plugin (capability args)."""

import time

from conftest import IMAGE
from crilib import sh


def interfaces(text):
    return sorted(line.split(":")[0].strip() for line in text.splitlines()[2:])


def test_host_network_pod_sees_node_interfaces(env, cri, images):
    pb = cri.pb
    ns = pb.NamespaceOption(network=pb.NODE)
    cfg = cri.sandbox_config(linux=pb.LinuxPodSandboxConfig(security_context=pb.LinuxSandboxSecurityContext(
        namespace_options=ns)))
    sid = cri.run_pod(cfg)
    assert not (env.tmp / "netns" / sid).exists()
    cid = cri.create(sid, cfg, "c", IMAGE, command=["sleep", "60"])
    cri.start(cid)
    inside = interfaces(cri.exec_sync(cid, ["cat", "/proc/net/dev"]).stdout.decode())
    node = interfaces(sh("cat", "/proc/net/dev", ns=env.ns).stdout)
    assert inside == node
    cri.rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid))
    cri.rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid))


def test_host_port_reaches_the_pod(env, cri, images):
    pb = cri.pb
    cfg = cri.sandbox_config(port_mappings=[pb.PortMapping(protocol=pb.TCP, container_port=8080, host_port=18080)])
    sid = cri.run_pod(cfg)
    cid = cri.create(sid, cfg, "web", IMAGE, command=["sh", "-c", "mkdir -p /w && echo via-hostport > /w/index.html && "
                                                                   "exec httpd -f -p 8080 -h /w"])
    cri.start(cid)
    gateway = "10.89.0.1"
    deadline = time.time() + 10
    out = ""
    while time.time() < deadline:
        out = sh("busybox", "wget", "-q", "-O", "-", f"http://{gateway}:18080/", ns=env.ns, check=False, timeout=10).stdout
        if out:
            break
        time.sleep(0.2)
    assert out.strip() == "via-hostport"
    cri.rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid))
    # DEL removed the mapping.
    r = sh("busybox", "wget", "-q", "-O", "-", f"http://{gateway}:18080/", ns=env.ns, check=False, timeout=10)
    assert r.stdout == ""

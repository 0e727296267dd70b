"""The control plane bootstrapped for real: `swiftlet-control-plane init --image-store` builds the
control-plane image from its own executable and imports it into the node's image store; our
kubelet (kubeletd over swiftlet-cri) runs the static pod manifests init wrote, in a throwaway
network namespace, and kubectl talks to the apiserver that pod runs.

Needs root, the built kubeletd, swiftlet-cri (+ runc, pause, monitor, cni), swiftlet-image and
kubectl. Everything lives in a temp dir and one netns, removed at the end even on failure."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from testkit import bin_dir  # noqa: E402

NEEDED = ("swiftlet-control-plane", "swiftlet-image", "kubeletd", "swiftlet-cri", "swiftlet-runc",
          "swiftlet-pause", "swiftlet-monitor", "swiftlet-cni")

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns, mounts, containers)"),
    pytest.mark.skipif(not all((bin_dir() / n).exists() for n in NEEDED), reason="needs the built node binaries"),
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl"),
]


class StaticPodNode:
    """init + swiftlet-cri + kubeletd in one netns, state in one temp dir."""

    def __init__(self):
        self.tag = uuid.uuid4().hex[:8]
        self.ns = f"cpsp-{self.tag}"
        self.tmp = Path(tempfile.mkdtemp(prefix=f"cp-static-{self.tag}-"))
        self.root = self.tmp / "root"
        self.node_name = f"cp-{self.tag}"
        self.cgroup_root = f"/swiftlet-cp-{self.tag}"
        # Inside our own netns every port is free; fixed ports keep the manifests readable.
        self.api_port = 6443
        self.ro_port = 10255
        self.procs = {}
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        self.run_in_ns(["ip", "link", "set", "lo", "up"])

    def enter(self, argv):
        # nsenter joins only the network namespace (`ip netns exec` would remount /sys and hide
        # the cgroup hierarchies the runtime needs).
        return ["nsenter", f"--net=/run/netns/{self.ns}", "--"] + [str(a) for a in argv]

    def run_in_ns(self, argv, check=True, timeout=60):
        return subprocess.run(self.enter(argv), check=check, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=timeout)

    def spawn(self, name, argv):
        log = open(self.tmp / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(self.enter(argv), stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)

    def log(self, name):
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def init(self):
        bins = bin_dir()
        return subprocess.run([bins / "swiftlet-control-plane", "init", "--root-dir", self.root,
                               "--node-name", self.node_name, "--secure-port", str(self.api_port),
                               "--image-store", self.tmp / "images", "--swiftlet-image", bins / "swiftlet-image"],
                              check=True, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)

    def start_cri(self):
        t, bins = self.tmp, bin_dir()
        for d in ("cni-bin", "cni-conf", "cri-root", "cri-state", "netns", "runc"):
            (t / d).mkdir()
        for name in ("bridge", "host-local"):
            os.symlink(bins / "swiftlet-cni", t / "cni-bin" / name)
        (t / "cni-conf" / "10-cp.conflist").write_text(json.dumps({
            "cniVersion": "1.0.0", "name": f"cp{self.tag}", "plugins": [
                {"type": "bridge", "bridge": f"cpb{self.tag[:6]}", "isGateway": True, "ipMasq": False,
                 "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.78.0.0/16"}]], "dataDir": str(t / "ipam")}}]}))
        self.socket = t / "cri.sock"
        (t / "cri.json").write_text(json.dumps({
            "listen": str(self.socket), "root_dir": str(t / "cri-root"), "state_dir": str(t / "cri-state"),
            "netns_dir": str(t / "netns"), "image_dir": str(t / "images"), "runtime_root": str(t / "runc"),
            "cni_conf_dir": str(t / "cni-conf"), "cni_bin_dirs": [str(t / "cni-bin")],
            "cgroup_enforcement": False, "restrict_oom_score_adj": True, "cgroup_parent": self.cgroup_root}))
        self.spawn("swiftlet-cri", [bins / "swiftlet-cri", "--config", t / "cri.json"])
        self.wait(lambda: self.socket.exists(), 30, "swiftlet-cri's socket", proc="swiftlet-cri")

    def start_kubelet(self):
        config = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
                  "staticPodPath": str(self.root / "etc/kubernetes/manifests"),
                  "containerRuntimeEndpoint": f"unix://{self.socket}", "cgroupRoot": self.cgroup_root,
                  "readOnlyPort": self.ro_port, "address": "127.0.0.1", "healthzPort": 0,
                  "fileCheckFrequency": "2s", "cgroupsPerQOS": False,
                  # Upstream's default disk thresholds would evict the apiserver on a nearly full
                  # build disk (this machine was at 14.8% free): only the memory signal here.
                  "evictionHard": {"memory.available": "100Mi"}}
        (self.tmp / "kubelet.yaml").write_text(json.dumps(config))
        self.spawn("kubeletd", [bin_dir() / "kubeletd", "--config", self.tmp / "kubelet.yaml",
                                "--root-dir", self.tmp / "kubelet", "--hostname-override", self.node_name])
        self.wait(lambda: self.kubelet_get("/healthz") == "ok", 30, "kubeletd's /healthz", proc="kubeletd")

    def kubelet_get(self, path):
        return self.run_in_ns(["curl", "-sSf", "--max-time", "10", f"http://127.0.0.1:{self.ro_port}{path}"]).stdout

    def kubectl(self, *args, check=True):
        return self.run_in_ns(["kubectl", "--kubeconfig", self.root / "etc/kubernetes/admin.conf",
                               "--request-timeout=10s", *args], check=check)

    def wait(self, predicate, timeout, what, proc=None):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if proc and self.procs[proc].poll() is not None:
                break
            try:
                last = predicate()
                if last:
                    return last
            except (OSError, subprocess.SubprocessError, KeyError, ValueError) as e:
                last = e
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what} (last: {last})\n--- kubeletd:\n{self.log('kubeletd')[-3000:]}"
                             f"\n--- swiftlet-cri:\n{self.log('swiftlet-cri')[-3000:]}")

    def stop(self, name, timeout=20):
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=timeout)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def cleanup(self):
        self.stop("kubeletd")
        self.stop("swiftlet-cri")
        runc = self.tmp / "runc"
        for cid in (os.listdir(runc) if runc.exists() else []):
            subprocess.run([bin_dir() / "swiftlet-runc", "--root", runc, "delete", "--force", cid], capture_output=True)
        for pid in subprocess.run(["ip", "netns", "pids", self.ns], capture_output=True, text=True).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
        for m in sorted((m for m in mounts if m.startswith(str(self.tmp))), key=len, reverse=True):
            subprocess.run(["umount", "-l", m], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
        for hierarchy in [Path("/sys/fs/cgroup")] + list(Path("/sys/fs/cgroup").iterdir()):
            base = hierarchy / self.cgroup_root.lstrip("/")
            if base.is_dir():
                for d in sorted((p for p in base.rglob("*") if p.is_dir()), key=lambda p: len(str(p)), reverse=True):
                    try:
                        d.rmdir()
                    except OSError:
                        pass
                try:
                    base.rmdir()
                except OSError:
                    pass
        shutil.rmtree(self.tmp, ignore_errors=True)
        if Path("/var/log/pods").exists():
            for d in Path("/var/log/pods").glob(f"kube-system_*-{self.node_name}_*"):
                shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def node():
    n = StaticPodNode()
    try:
        yield n
    finally:
        n.cleanup()


def test_kubelet_runs_the_apiserver_from_the_locally_built_image(node):
    out = node.init()
    # The image was built and imported: the node's image store lists it under the manifests' tag.
    manifests = node.root / "etc/kubernetes/manifests"
    pod = yaml.safe_load((manifests / "kube-apiserver.yaml").read_text())
    container = pod["spec"]["containers"][0]
    assert pod["spec"]["hostNetwork"] is True
    assert container["imagePullPolicy"] == "IfNotPresent"
    images = json.loads(subprocess.run([bin_dir() / "swiftlet-image", "list", "--root", node.tmp / "images", "--json"],
                                       check=True, capture_output=True, text=True).stdout)
    assert [container["image"]] == [t for i in images for t in i["repoTags"]], out.stdout
    # hostPath volumes point at init's root dir, mounted where the command expects them.
    paths = {v["name"]: v["hostPath"]["path"] for v in pod["spec"]["volumes"]}
    assert paths == {"k8s-certs": str(node.root / "etc/kubernetes"), "data": str(node.root / "var/lib/swiftlet/apiserver")}
    # No scheduler/controller-manager binaries yet: their manifests wait outside the kubelet's dir.
    bins = (bin_dir() / "swiftlet-control-plane").resolve().parent
    for name, exe in [("kube-scheduler", "swiftlet-scheduler"), ("kube-controller-manager", "swiftlet-controller-manager")]:
        active = (bins / exe).exists()
        assert (manifests / f"{name}.yaml").exists() == active
        assert (node.root / "etc/kubernetes/manifests-pending" / f"{name}.yaml").exists() == (not active)

    node.start_cri()
    node.start_kubelet()

    # kubectl (in the netns, over the kubeconfig init wrote) reaches the apiserver the kubelet started.
    r = node.wait(lambda: (lambda p: p if p.returncode == 0 else None)(node.kubectl("get", "ns", "-o", "name", check=False)),
                  180, "kubectl get ns against the static pod", proc="kubeletd")
    assert {"namespace/default", "namespace/kube-system"} <= set(r.stdout.split())
    version = json.loads(node.kubectl("version", "-o", "json").stdout)["serverVersion"]
    assert version["gitVersion"].endswith("+swiftlet")
    # The apiserver writes its store through the hostPath volume.
    assert (node.root / "var/lib/swiftlet/apiserver/state.db").exists()
    # A write and read back through the static pod's apiserver.
    node.kubectl("create", "namespace", "from-static-pod")
    assert "namespace/from-static-pod" in node.kubectl("get", "ns", "-o", "name").stdout

    # The kubelet's read-only API shows the static pod Running with its container running.
    def running():
        pods = {p["metadata"]["name"]: p for p in json.loads(node.kubelet_get("/pods"))["items"]}
        p = pods.get(f"kube-apiserver-{node.node_name}")
        if p and p["status"].get("phase") == "Running":
            return pods
    pods = node.wait(running, 60, "kube-apiserver Running in kubeletd's /pods", proc="kubeletd")
    status = pods[f"kube-apiserver-{node.node_name}"]["status"]
    assert status["containerStatuses"][0]["image"].endswith(container["image"].split("/", 1)[1]) or \
        status["containerStatuses"][0]["image"] == container["image"]
    assert "running" in status["containerStatuses"][0]["state"]
    assert sorted(pods) == sorted(f"{m.stem}-{node.node_name}" for m in manifests.glob("*.yaml"))


def test_init_refuses_a_missing_importer(tmp_path):
    r = subprocess.run([bin_dir() / "swiftlet-control-plane", "init", "--root-dir", tmp_path / "root", "--node-name", "n1",
                        "--image-store", tmp_path / "images", "--swiftlet-image", tmp_path / "no-such-importer"],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert r.returncode != 0
    assert "no-such-importer" in r.stderr
    # Nothing half-written: no manifests without an image, no layout left in the temp dir.
    assert not (tmp_path / "root/etc/kubernetes/manifests/kube-apiserver.yaml").exists()

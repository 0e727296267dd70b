"""The control plane bootstrapped for real: `swiftlet-control-plane init --image-store` builds the
control-plane image from its own executable and imports it into the node's image store; our
kubelet (kubeletd over swiftlet-cri) runs the static pod manifests init wrote, in a throwaway
network namespace, and kubectl talks to the apiserver that pod runs.

Needs root, the built kubeletd, swiftlet-cri (+ runc, pause, monitor, cni), swiftlet-image and
kubectl. Everything lives in a temp dir and one netns, removed at the end even on failure."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kubelet"))
from testkit import bin_dir  # noqa: E402
import kubeletlib  # noqa: E402

NEEDED = ("swiftlet-control-plane", "swiftlet-image", "kubeletd", "swiftlet-cri", "swiftlet-runc",
          "swiftlet-pause", "swiftlet-monitor", "swiftlet-cni")

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns, mounts, containers)"),
    pytest.mark.skipif(not all((bin_dir() / n).exists() for n in NEEDED), reason="needs the built node binaries"),
    pytest.mark.skipif(shutil.which("kubectl") is None, reason="needs kubectl"),
]


class StaticPodNode(kubeletlib.Node):
    """kubeletlib's node (netns, swiftlet-cri, kubeletd, one temp dir, its cleanup) with the
    control plane's root: init writes the manifests the kubelet watches and imports the image
    into swiftlet-cri's image store (no registry)."""

    def __init__(self):
        super().__init__(runtime="swiftlet-cri")
        self.root = self.tmp / "root"
        self.manifests = self.root / "etc/kubernetes/manifests"
        # Inside our own netns every port is free; a fixed port keeps the manifests readable.
        self.api_port = 6443

    def init(self):
        bins = bin_dir()
        return subprocess.run([bins / "swiftlet-control-plane", "init", "--root-dir", self.root,
                               "--node-name", self.node_name, "--secure-port", str(self.api_port),
                               "--image-store", self.tmp / "images", "--swiftlet-image", bins / "swiftlet-image"],
                              check=True, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)

    def kubectl(self, *args, check=True):
        argv = ["kubectl", "--kubeconfig", str(self.root / "etc/kubernetes/admin.conf"), "--request-timeout=10s", *args]
        return subprocess.run(self.enter(argv), check=check, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=60)


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

    node.start_swiftlet_cri(registry=False)
    node.start_kubelet()

    # kubectl (in the netns, over the kubeconfig init wrote) reaches the apiserver the kubelet started.
    r = node.wait_for(lambda: (lambda p: p if p.returncode == 0 else None)(node.kubectl("get", "ns", "-o", "name", check=False)),
                      timeout=180, what="kubectl get ns against the static pod", poll=0.5, proc="kubeletd")
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
        pods = node.pods()
        p = pods.get(f"kube-apiserver-{node.node_name}")
        if p and p["status"].get("phase") == "Running":
            return pods
    pods = node.wait_for(running, timeout=60, what="kube-apiserver Running in kubeletd's /pods", proc="kubeletd")
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

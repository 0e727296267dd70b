"""kubeletd's QoS cgroups on this host: its cgroup v2 tree has no controllers, so cgroupsPerQOS
(on by default) must stop start-up with an error naming the field, the missing controllers and
the way out. (The tree and its values are checked in the VM: tests/vm/test_kubelet_vm.py.)"""

import json
import subprocess
import uuid
from pathlib import Path

import pytest

import kubeletlib

V2 = Path("/sys/fs/cgroup") if Path("/sys/fs/cgroup/cgroup.controllers").exists() else Path("/sys/fs/cgroup/unified")


def test_cgroups_per_qos_without_controllers_stops_startup(tmp_path):
    offered = set((V2 / "cgroup.controllers").read_text().split()) if (V2 / "cgroup.controllers").exists() else set()
    if {"cpu", "memory", "pids"} <= offered:
        pytest.skip(f"{V2} offers the controllers here (tests/vm/test_kubelet_vm.py covers this case)")
    root = f"/swiftlet-kl-{uuid.uuid4().hex[:8]}"
    (tmp_path / "manifests").mkdir()
    config = tmp_path / "kubelet.yaml"
    config.write_text(json.dumps({
        "apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
        "staticPodPath": str(tmp_path / "manifests"), "cgroupRoot": root, "readOnlyPort": 0, "healthzPort": 0,
        # No runtime at all: the cgroup check comes first.
        "containerRuntimeEndpoint": f"unix://{tmp_path / 'none.sock'}"}))
    out = subprocess.run([str(kubeletlib.bin_dir() / "kubeletd"), "--config", str(config), "--root-dir", str(tmp_path / "r")],
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert out.returncode == 1, out.stderr
    message = out.stderr.strip().splitlines()[-1]
    assert message.startswith("kubeletd: cgroupsPerQOS: "), message
    assert f"{V2}/cgroup.controllers" in message
    missing = ", ".join(c for c in ("cpu", "memory", "pids") if c not in offered)
    assert f"lacks the {missing} controller" in message, message
    assert "set cgroupsPerQOS: false" in message
    assert not (V2 / root.lstrip("/")).exists(), "nothing created on a refused host"

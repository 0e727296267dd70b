import os
import shutil

import pytest

import kubeletlib


def pytest_collection_modifyitems(config, items):
    reasons = []
    if os.geteuid() != 0:
        reasons.append("needs root")
    for tool in ("containerd", "ctr", "runc", "nsenter", "curl"):
        if shutil.which(tool) is None:
            reasons.append(f"needs {tool}")
    if reasons:
        skip = pytest.mark.skip(reason=", ".join(reasons))
        for item in items:
            item.add_marker(skip)


@pytest.fixture(scope="module", params=kubeletlib.RUNTIMES)
def node(request):
    """One node (runtime + kubeletd) per test module and runtime; each test uses its own manifests."""
    if not kubeletlib.runtime_available(request.param):
        pytest.skip(f"{request.param} is not available (build swiftlet-cri, -monitor, -pause, -runc, -cni)")
    n = kubeletlib.Node(runtime=request.param)
    try:
        n.start_runtime()
        n.start_kubelet()
        yield n
    finally:
        n.cleanup()


@pytest.fixture
def manifests(node):
    """Removes the manifests a test wrote and waits for their pods to go."""
    written = []

    def write(name, text):
        written.append(name)
        return node.write_manifest(name, text)

    yield write
    for name in written:
        (node.manifests / name).unlink(missing_ok=True)
    node.wait_for(lambda: not node.pods(), timeout=90, what="pods removed after the test")

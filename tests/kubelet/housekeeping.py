"""Shared by the housekeeping e2e tests: a node whose kubeletd runs with extra configuration, and
a CRI client (Python stubs generated from proto/cri) to look at the runtime the way crictl does."""
import sys
from pathlib import Path

import pytest

import kubeletlib

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cri"))


def node_fixture(**config):
    """A module-scoped `node` fixture (both runtimes) whose kubeletd gets `config`."""
    @pytest.fixture(scope="module", params=kubeletlib.RUNTIMES)
    def node(request):
        if not kubeletlib.runtime_available(request.param):
            pytest.skip(f"{request.param} is not available (build swiftlet-cri, -monitor, -pause, -runc, -cni)")
        n = kubeletlib.Node(runtime=request.param)
        try:
            n.start_runtime()
            n.start_kubelet(**config)
            yield n
        finally:
            n.cleanup()
    return node


class CRI:
    """RuntimeService and ImageService clients over the node's CRI socket."""

    def __init__(self, node):
        import grpc
        from crilib import stubs
        self.pb, pbg = stubs()
        self.channel = grpc.insecure_channel(f"unix://{node.socket}")
        self.rt = pbg.RuntimeServiceStub(self.channel)
        self.img = pbg.ImageServiceStub(self.channel)

    def close(self):
        self.channel.close()

    def sandboxes(self, **labels):
        f = self.pb.PodSandboxFilter(label_selector=labels)
        return list(self.rt.ListPodSandbox(self.pb.ListPodSandboxRequest(filter=f), timeout=30).items)

    def containers(self, **labels):
        f = self.pb.ContainerFilter(label_selector=labels)
        return list(self.rt.ListContainers(self.pb.ListContainersRequest(filter=f), timeout=30).containers)

    def images(self):
        return list(self.img.ListImages(self.pb.ListImagesRequest(), timeout=30).images)

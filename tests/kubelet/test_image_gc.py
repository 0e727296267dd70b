"""Image GC by disk thresholds: with imageGCHighThresholdPercent 1 the image filesystem is always
"full", so the kubelet removes every unused image (least recently used first) and logs what it
freed, and keeps the images containers use and the runtime's sandbox image."""

from housekeeping import CRI, node_fixture
from kubeletlib import busybox_oci_archive, sleep_pod
from test_static_pods import status

node = node_fixture(imageGCHighThresholdPercent=1, imageGCLowThresholdPercent=0, imageMinimumGCAge="12s",
                    imageGCPeriod="2s")


def extra_image(node):
    """A second image (its own config, so its own ID) the runtime can get: imported into
    containerd, or pushed to the local registry swiftlet-cri pulls from."""
    if node.runtime == "containerd":
        ref = "docker.io/library/gc-extra:1"
        archive = busybox_oci_archive(node.tmp / "gc-extra.tar", ref, cmd=("sh", "-c", "echo extra"))
        node.ctr(["images", "import", "--no-unpack", str(archive)])
        return ref
    ref = "127.0.0.1:5000/test/gc-extra:1"
    archive = busybox_oci_archive(node.tmp / "gc-extra.tar", "1", cmd=("sh", "-c", "echo extra"))
    node.netns_exec(["skopeo", "copy", "--format", "v2s2", "--dest-tls-verify=false", f"oci-archive:{archive}",
                     f"docker://{ref}"])
    return ref


def tagged(cri, ref):
    return [i for i in cri.images() if ref in i.repo_tags]


def test_unused_image_is_removed_and_used_ones_stay(node, manifests):
    ref = extra_image(node)
    manifests("user.yaml", sleep_pod("user", node.image))
    manifests("extra.yaml", sleep_pod("extra", ref))
    node.wait_for(lambda: status(node, "user").get("phase") == "Running" and status(node, "extra").get("phase") == "Running",
                  what="both pods Running")
    cri = CRI(node)
    try:
        extra = tagged(cri, ref)
        assert extra, "the extra image is in the runtime"
        # Stop using it: from now on it is unused and, once 12 s old, the first to go.
        (node.manifests / "extra.yaml").unlink()
        node.wait_for(lambda: f"extra-{node.node_name}" not in node.pods(), timeout=60, what="the extra pod gone")
        node.wait_for(lambda: not tagged(cri, ref), timeout=60, what="image GC removed the unused image")
        log = node.log("kubeletd")
        assert "image GC: image filesystem above the high threshold" in log
        assert "image GC: removed unused image" in log and extra[0].id in log
        # The image the running pod uses stays, and so does containerd's sandbox image.
        assert tagged(cri, node.image)
        if node.runtime == "containerd":
            assert tagged(cri, "registry.k8s.io/pause:3.9")
        assert status(node, "user").get("phase") == "Running"
    finally:
        cri.close()

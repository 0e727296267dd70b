import json
import os
import shutil
import subprocess
import tempfile

import pytest

from imagelib import (Layout, Registry, app_entries, busybox_entries, image_cli, mounts_under, run_image,
                      skopeo_push, tar_bytes)


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        skip = pytest.mark.skip(reason="image store integration tests need root (overlayfs, mknod, chown)")
        for item in items:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def work():
    path = tempfile.mkdtemp(prefix="swiftlet-image-tests-")
    yield path
    for mount in sorted(mounts_under(path), reverse=True):
        subprocess.run(["umount", "-l", mount], check=False)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def cli():
    path = image_cli()
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} not built (set SWIFTLET_BIN_DIR)")
    return path


class Images:
    """The test images, built once: tars, layout, digests."""

    def __init__(self, work):
        self.base_tar = tar_bytes(busybox_entries() + [
            {"name": "opaque", "type": "dir"},
            {"name": "opaque/old", "data": b"from the base layer\n"},
        ])
        self.app_tar = tar_bytes(app_entries() + [
            {"name": "opaque", "type": "dir"},
            {"name": "opaque/.wh..wh..opq", "data": b""},
            {"name": "opaque/new", "data": b"from the app layer\n"},
        ])
        self.layout_dir = os.path.join(work, "layout")
        self.layout = Layout(self.layout_dir)
        # v1: gzip base + zstd app layer; plain: both uncompressed.
        self.v1, self.v1_config = self.layout.image([self.base_tar, self.app_tar], compression=["gzip", "zstd"])
        self.layout.add(self.v1, "v1")
        self.plain, self.plain_config = self.layout.image([self.base_tar, self.app_tar], compression=[None, None])
        self.layout.add(self.plain, "plain")
        arm_tar = tar_bytes([{"name": "arch", "data": b"arm64\n"}])
        self.arm, self.arm_config = self.layout.image([arm_tar], arch="arm64")
        self.multi = self.layout.multiarch([self.arm, self.v1])
        self.layout.add(self.multi, "multi")
        with open(os.path.join(self.layout_dir, "blobs", "sha256", self.v1["digest"][7:])) as f:
            self.layers = json.load(f)["layers"]


@pytest.fixture(scope="session")
def images(work):
    return Images(work)


@pytest.fixture(scope="session")
def registry(work, images):
    reg = Registry(work)
    try:
        for tag in ["v1", "plain"]:
            skopeo_push(f"oci:{images.layout_dir}:{tag}", f"docker://{reg.host}/test/app:{tag}")
        skopeo_push(f"oci:{images.layout_dir}:multi", f"docker://{reg.host}/test/app:multi", multi=True)
        skopeo_push(f"oci:{images.layout_dir}:v1", f"docker://{reg.host}/library/busybox:latest")
        yield reg
    finally:
        reg.stop()


@pytest.fixture
def plain_config(work, registry):
    path = os.path.join(work, f"registries-{registry.port}.yaml")
    with open(path, "w") as f:
        f.write(f'registries:\n  "{registry.host}":\n    plainHTTP: true\n')
    return path


@pytest.fixture
def store(work):
    root = tempfile.mkdtemp(prefix="store-", dir=work)
    yield root
    result = run_image(root, "snapshot", "list", "--json", check=False)
    if result.returncode == 0:
        for snap in json.loads(result.stdout or "[]"):
            run_image(root, "snapshot", "rm", snap["key"], check=False)
    for mount in sorted(mounts_under(root), reverse=True):
        subprocess.run(["umount", "-l", mount], check=False)
    assert not mounts_under(root), "mounts left behind"
    shutil.rmtree(root, ignore_errors=True)

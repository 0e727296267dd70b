"""Importing what skopeo/podman write: OCI layouts (directory and tar) and docker-archive tars."""
import json
import os
import subprocess
import tarfile

from imagelib import run_image


def rootfs_index(store, key, ref):
    rootfs = run_image(store, "snapshot", "prepare", key, ref).stdout.strip()
    with open(os.path.join(rootfs, "www/index.html")) as f:
        return f.read()


def test_import_docker_archive_from_skopeo(store, work, images):
    archive = os.path.join(work, "app-docker.tar")
    if os.path.exists(archive):
        os.unlink(archive)
    subprocess.run(["skopeo", "copy", "--quiet", f"oci:{images.layout_dir}:plain",
                    f"docker-archive:{archive}:example.com/team/app:1.0"], check=True, capture_output=True)
    out = run_image(store, "import", archive).stdout
    assert "example.com/team/app:1.0" in out
    info = json.loads(run_image(store, "inspect", "example.com/team/app:1.0").stdout)
    assert info["config"]["cmd"] == ["/bin/sh"]
    assert info["image"]["repoDigests"] == []
    assert rootfs_index(store, "from-docker-archive", "example.com/team/app:1.0") == "<h1>hello from swiftlet</h1>\n"


def test_import_oci_layout_directory_with_tag(store, images):
    out = run_image(store, "import", images.layout_dir, check=False)
    # The layout holds three images: --tag is refused, no tag imports them unnamed.
    tagged = run_image(store, "import", images.layout_dir, "--tag", "example.com/x:1", check=False)
    assert tagged.returncode != 0 and "tag: the archive holds 3 images" in tagged.stderr
    assert out.returncode == 0, out.stderr
    ids = {line.split()[0] for line in out.stdout.splitlines()}
    assert ids == {images.v1_config}  # v1, plain and the amd64 entry of multi are one image
    assert rootfs_index(store, "from-layout", images.v1_config) == "<h1>hello from swiftlet</h1>\n"


def test_import_oci_archive_tar(store, work, images):
    archive = os.path.join(work, "app-oci.tar")
    if os.path.exists(archive):
        os.unlink(archive)
    subprocess.run(["skopeo", "copy", "--quiet", f"oci:{images.layout_dir}:plain", f"oci-archive:{archive}:plain"],
                   check=True, capture_output=True)
    out = run_image(store, "import", archive, "--tag", "registry.local/app:oci").stdout
    assert out.split() == [images.plain_config, "registry.local/app:oci"]
    assert rootfs_index(store, "from-oci-archive", "registry.local/app:oci") == "<h1>hello from swiftlet</h1>\n"
    # Nothing of the extracted archive stays behind.
    assert os.listdir(os.path.join(store, "tmp")) == []


def test_import_then_pull_reuses_layers(store, registry, images, plain_config):
    run_image(store, "import", images.layout_dir)
    pulled = run_image(store, "pull", f"{registry.host}/test/app:v1", config=plain_config)
    assert "fetching layer" not in pulled.stderr and "unpacked layer" not in pulled.stderr
    assert len(os.listdir(os.path.join(store, "layers"))) == 2

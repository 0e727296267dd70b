"""Bad input: corrupt and mismatching blobs, malicious and truncated tars, unknown media types,
registries that fail or hang, bad references and configuration. Each gives a clear error naming
the image and the layer, leaves no image, no layer directory and no file outside the store."""
import gzip
import json
import os
import shutil
import socket
import threading
import time

import pytest

from imagelib import Layout, busybox_entries, run_image, sha256, skopeo_push, tar_bytes


def nothing_left(store, bad_layer_diff_id=None):
    """No image, no scratch or partial files, not the refused layer; the good layers fetched
    before the failure stay as cache until the next gc, which removes them."""
    assert json.loads(run_image(store, "list", "--json").stdout) == []
    assert os.listdir(os.path.join(store, "tmp")) == []
    assert [n for n in os.listdir(os.path.join(store, "ingest")) if not n.endswith(".lock")] == []
    if bad_layer_diff_id:
        assert bad_layer_diff_id[7:] not in os.listdir(os.path.join(store, "layers"))
    run_image(store, "gc")
    assert os.listdir(os.path.join(store, "layers")) == []
    assert os.listdir(os.path.join(store, "blobs", "sha256")) == []


def evil_layout(work, name, entries, compression="gzip", raw_layer=None, media_type=None):
    path = os.path.join(work, f"evil-{name}")
    shutil.rmtree(path, ignore_errors=True)
    layout = Layout(path)
    base = tar_bytes(busybox_entries()[:2])
    evil = raw_layer if raw_layer is not None else tar_bytes(entries)
    desc, _ = layout.image([base, evil], compression=["gzip", compression])
    manifest_path = os.path.join(path, "blobs", "sha256", desc["digest"][7:])
    with open(manifest_path) as f:
        manifest = json.load(f)
    if media_type:
        manifest["layers"][1]["mediaType"] = media_type
        desc = layout.blob(json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json")
    layout.add(desc, name)
    return path, manifest["layers"][1]["digest"], sha256(evil)


@pytest.fixture
def outside(work):
    path = os.path.join(work, "outside-target")
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    yield path
    assert os.listdir(path) == [], "a file was written outside the layer directory"
    shutil.rmtree(path)


@pytest.mark.parametrize("name,entries,reason", [
    ("absolute", [{"name": "/abs-evil", "data": b"x"}], "is an absolute path"),
    ("dotdot", [{"name": "a/../../../dotdot-evil", "data": b"x"}], 'contains ".."'),
    ("hardlink", [{"name": "h", "type": "hardlink", "link": "../../../../etc/passwd"}], 'contains ".."'),
    ("device", [{"name": "usr/evil-disk", "type": "block", "major": 8, "minor": 0}], "device node outside dev/"),
])
def test_malicious_tar_entries_are_refused(store, work, outside, name, entries, reason):
    path, layer, diff_id = evil_layout(work, name, entries)
    result = run_image(store, "import", path, "--tag", f"evil.example/{name}:1", check=False)
    assert result.returncode != 0
    assert f"image evil.example/{name}:1: layer {layer}:" in result.stderr and reason in result.stderr, result.stderr
    nothing_left(store, diff_id)


def test_symlink_pointing_out_cannot_be_written_through(store, work, outside, registry, plain_config):
    entries = [{"name": "escape", "type": "symlink", "link": outside},
               {"name": "escape/evil", "data": b"owned\n"}]
    path, layer, diff_id = evil_layout(work, "symlink", entries)
    skopeo_push(f"oci:{path}:symlink", f"docker://{registry.host}/evil/symlink:1")
    result = run_image(store, "pull", f"{registry.host}/evil/symlink:1", config=plain_config, check=False)
    assert result.returncode != 0
    assert f"layer {layer}:" in result.stderr and '"escape", which is a symlink' in result.stderr, result.stderr
    # The refused layer's blob is not kept.
    assert layer[7:] not in os.listdir(os.path.join(store, "blobs", "sha256"))
    nothing_left(store, diff_id)


def test_truncated_layer(store, work):
    whole = gzip.compress(tar_bytes([{"name": "big", "data": os.urandom(200000)}]))
    path, layer, diff_id = evil_layout(work, "truncated", None, compression=None, raw_layer=whole[: len(whole) // 2])
    result = run_image(store, "import", path, "--tag", "evil.example/truncated:1", check=False)
    assert result.returncode != 0
    assert f"layer {layer}:" in result.stderr and "truncated" in result.stderr.lower(), result.stderr
    nothing_left(store, diff_id)


def test_diff_id_mismatch(store, work):
    path = os.path.join(work, "evil-diffid")
    shutil.rmtree(path, ignore_errors=True)
    layout = Layout(path)
    real = tar_bytes([{"name": "a", "data": b"a"}])
    desc, _ = layout.image([real], config_extra=None)
    # Rewrite the config with a wrong diffID, and the manifest to point at it.
    with open(os.path.join(path, "blobs", "sha256", desc["digest"][7:])) as f:
        manifest = json.load(f)
    with open(os.path.join(path, "blobs", "sha256", manifest["config"]["digest"][7:])) as f:
        config = json.load(f)
    config["rootfs"]["diff_ids"] = [sha256(b"something else")]
    manifest["config"] = layout.blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
    layout.add(layout.blob(json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json"), "diffid")
    result = run_image(store, "import", path, "--tag", "evil.example/diffid:1", check=False)
    assert result.returncode != 0 and "config says diffID" in result.stderr and manifest["layers"][0]["digest"] in result.stderr
    nothing_left(store)


def test_unknown_layer_media_type(store, work, registry, plain_config):
    path, layer, diff_id = evil_layout(work, "mediatype", [{"name": "f", "data": b"x"}], media_type="application/vnd.example.weird")
    result = run_image(store, "import", path, "--tag", "evil.example/media:1", check=False)
    assert result.returncode != 0
    assert f'{layer}: unsupported media type "application/vnd.example.weird"' in result.stderr, result.stderr
    nothing_left(store)


def test_corrupt_blob_in_the_registry(store, work, registry, images, plain_config):
    skopeo_push(f"oci:{images.layout_dir}:v1", f"docker://{registry.host}/test/corrupt:v1")
    layer = images.layers[1]["digest"]
    data_path = registry.blob_data_path(layer)
    with open(data_path, "rb") as f:
        good = f.read()
    try:
        with open(data_path, "wb") as f:
            f.write(bytes(b ^ 0xFF for b in good))
        result = run_image(store, "pull", f"{registry.host}/test/corrupt:v1", config=plain_config, check=False)
    finally:
        with open(data_path, "wb") as f:
            f.write(good)
    assert result.returncode != 0
    assert f"image {registry.host}/test/corrupt:v1: layer {layer}: digest mismatch" in result.stderr, result.stderr
    assert json.loads(run_image(store, "list", "--json").stdout) == []
    assert layer[7:] not in os.listdir(os.path.join(store, "blobs", "sha256"))
    assert [n for n in os.listdir(os.path.join(store, "ingest")) if n.endswith(".partial")] == []
    # With the registry fixed, the same store pulls fine.
    assert run_image(store, "pull", f"{registry.host}/test/corrupt:v1", config=plain_config).stdout.strip() == images.v1_config


def test_missing_image_and_registry_errors(store, work, registry, plain_config):
    missing = run_image(store, "pull", f"{registry.host}/test/app:nope", config=plain_config, check=False)
    assert missing.returncode != 0 and f"image {registry.host}/test/app:nope: not found in registry" in missing.stderr

    class Failing(threading.Thread):
        def __init__(self, respond):
            super().__init__(daemon=True)
            self.sock = socket.socket()
            self.sock.bind(("127.0.0.1", 0))
            self.sock.listen(16)
            self.port = self.sock.getsockname()[1]
            self.respond = respond
            self.conns = []

        def run(self):
            while True:
                try:
                    conn, _ = self.sock.accept()
                except OSError:
                    return
                self.conns.append(conn)
                if self.respond:
                    conn.recv(65536)
                    body = b'{"errors":[{"code":"UNKNOWN","message":"storage backend down"}]}'
                    conn.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
                    conn.close()

        def stop(self):
            self.sock.close()
            for c in self.conns:
                c.close()

    for respond in (True, False):
        server = Failing(respond)
        server.start()
        config = os.path.join(work, f"failing-{server.port}.yaml")
        with open(config, "w") as f:
            f.write(f'timeoutSeconds: 2\nregistries:\n  "127.0.0.1:{server.port}":\n    plainHTTP: true\n')
        started = time.time()
        try:
            result = run_image(store, "pull", f"127.0.0.1:{server.port}/x/y:1", config=config, check=False, timeout=60)
        finally:
            server.stop()
        assert result.returncode != 0
        if respond:
            assert "registry error HTTP 500" in result.stderr and "storage backend down" in result.stderr, result.stderr
        else:
            assert f"image 127.0.0.1:{server.port}/x/y:1: timed out" in result.stderr, result.stderr
            assert time.time() - started < 30
    nothing_left(store)


@pytest.mark.parametrize("ref,reason", [
    ("Foo/Bar", "repository name must be lowercase"),
    ("busybox:bad tag", "contains whitespace"),
    ("busybox@sha256:abc", "invalid digest"),
    ("a" * 64, "a 64-character hex string is an image ID, not a reference"),
])
def test_invalid_references(store, ref, reason):
    result = run_image(store, "pull", ref, check=False)
    assert result.returncode != 0 and f'invalid image reference "{ref}": {reason}' in result.stderr, result.stderr


def test_bad_registry_configuration(store, work):
    config = os.path.join(work, "bad.yaml")
    with open(config, "w") as f:
        f.write('registries:\n  docker.io:\n    mirorrs: ["http://127.0.0.1:1"]\n')
    result = run_image(store, "list", config=config, check=False)
    assert result.returncode != 0 and "registries.docker.io.mirorrs: unknown field" in result.stderr, result.stderr

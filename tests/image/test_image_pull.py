"""Pulls from a real docker-registry on loopback, snapshots, and what a user sees in the rootfs."""
import hashlib
import json
import os
import stat
import subprocess

from imagelib import image_cli, mounts_under, run_image, sha256, skopeo_push


def pull(store, ref, config, *extra, check=True):
    return run_image(store, "pull", ref, *extra, config=config, check=check)


def prepare(store, key, ref, *extra):
    return run_image(store, "snapshot", "prepare", key, ref, *extra).stdout.strip()


def test_pull_verifies_and_stores_content_by_digest(store, registry, images, plain_config):
    result = pull(store, f"{registry.host}/test/app:v1", plain_config)
    assert result.stdout.strip() == images.v1_config
    # Progress in the log.
    assert "fetching layer" in result.stderr and "unpacked layer" in result.stderr
    listed = json.loads(run_image(store, "list", "--json").stdout)
    assert [i["repoTags"] for i in listed] == [[f"{registry.host}/test/app:v1"]]
    assert listed[0]["repoDigests"] == [f"{registry.host}/test/app@{images.v1['digest']}"]
    assert listed[0]["size"] > len(images.base_tar) // 2
    # Every stored blob is named by its own digest: manifest, config and both layers.
    blobs = os.path.join(store, "blobs", "sha256")
    names = set(os.listdir(blobs))
    assert {images.v1["digest"][7:], images.v1_config[7:]} | {layer["digest"][7:] for layer in images.layers} <= names
    for name in names:
        with open(os.path.join(blobs, name), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == name
    # Layers unpacked once each, named by diffID.
    assert sorted(os.listdir(os.path.join(store, "layers"))) == sorted([sha256(images.base_tar)[7:], sha256(images.app_tar)[7:]])
    assert os.listdir(os.path.join(store, "ingest")) == [] or all(n.endswith(".lock") for n in os.listdir(os.path.join(store, "ingest")))


def test_inspect_shows_image_config(store, registry, images, plain_config):
    pull(store, f"{registry.host}/test/app:v1", plain_config)
    out = json.loads(run_image(store, "inspect", images.v1_config[7:19]).stdout)
    assert out["image"]["id"] == images.v1_config
    assert out["config"]["cmd"] == ["/bin/sh"]
    assert out["config"]["env"] == ["PATH=/bin"]
    assert out["config"]["exposedPorts"] == ["8080/tcp"]
    assert out["config"]["labels"] == {"org.example": "swiftlet"}
    assert out["config"]["stopSignal"] == "SIGTERM"
    missing = run_image(store, "inspect", "nothing/here:v9", check=False)
    assert missing.returncode != 0 and 'image "nothing/here:v9" not found' in missing.stderr


def test_snapshot_rootfs_has_files_modes_owners_links_whiteouts(store, registry, images, plain_config):
    pull(store, f"{registry.host}/test/app:v1", plain_config)
    rootfs = prepare(store, "c1", f"{registry.host}/test/app:v1")
    assert rootfs in mounts_under(store)
    with open("/bin/busybox", "rb") as f, open(os.path.join(rootfs, "bin/busybox"), "rb") as g:
        assert f.read() == g.read()
    assert os.readlink(os.path.join(rootfs, "bin/sh")) == "/bin/busybox"
    index = os.lstat(os.path.join(rootfs, "www/index.html"))
    assert (index.st_uid, index.st_gid, stat.S_IMODE(index.st_mode)) == (1000, 1001, 0o644)
    assert stat.S_IMODE(os.lstat(os.path.join(rootfs, "www/setuid")).st_mode) == 0o4755
    assert stat.S_IMODE(os.lstat(os.path.join(rootfs, "tmp")).st_mode) == 0o1777
    assert stat.S_IMODE(os.lstat(os.path.join(rootfs, "root")).st_mode) == 0o700
    link = os.lstat(os.path.join(rootfs, "www/link"))
    assert link.st_ino == index.st_ino and link.st_nlink == 2
    assert os.getxattr(os.path.join(rootfs, "www/tagged"), "user.swiftlet") == b"yes"
    null = os.lstat(os.path.join(rootfs, "dev/null"))
    assert stat.S_ISCHR(null.st_mode) and (os.major(null.st_rdev), os.minor(null.st_rdev)) == (1, 3)
    # Whiteout: etc/group deleted by the app layer; etc/passwd from the base stays.
    assert not os.path.exists(os.path.join(rootfs, "etc/group"))
    assert os.path.exists(os.path.join(rootfs, "etc/passwd"))
    # Opaque directory: the base layer's opaque/old is hidden.
    assert sorted(os.listdir(os.path.join(rootfs, "opaque"))) == ["new"]
    # The busybox in the image runs.
    out = subprocess.run(["chroot", rootfs, "/bin/sh", "-c", "cat /www/index.html; id -u"], capture_output=True, text=True, check=True)
    assert out.stdout == "<h1>hello from swiftlet</h1>\n0\n"


def test_snapshot_is_writable_and_private(store, registry, images, plain_config):
    pull(store, f"{registry.host}/test/app:v1", plain_config)
    a = prepare(store, "a", f"{registry.host}/test/app:v1")
    b = prepare(store, "b", f"{registry.host}/test/app:v1")
    with open(os.path.join(a, "www/index.html"), "w") as f:
        f.write("changed\n")
    os.unlink(os.path.join(a, "etc/motd"))
    with open(os.path.join(b, "www/index.html")) as f:
        assert f.read() == "<h1>hello from swiftlet</h1>\n"
    assert os.path.exists(os.path.join(b, "etc/motd"))
    # The shared layer directory is untouched.
    with open(os.path.join(store, "layers", sha256(images.app_tar)[7:], "fs/www/index.html")) as f:
        assert f.read() == "<h1>hello from swiftlet</h1>\n"
    again = run_image(store, "snapshot", "prepare", "a", f"{registry.host}/test/app:v1", check=False)
    assert again.returncode != 0 and 'snapshot "a" already exists' in again.stderr
    run_image(store, "snapshot", "rm", "a")
    assert a not in mounts_under(store) and not os.path.exists(os.path.dirname(a))
    run_image(store, "snapshot", "rm", "a")  # absent: not an error


def test_read_only_snapshot(store, registry, images, plain_config):
    pull(store, f"{registry.host}/test/app:v1", plain_config)
    rootfs = prepare(store, "ro", f"{registry.host}/test/app:v1", "--read-only")
    assert os.path.exists(os.path.join(rootfs, "www/index.html"))
    try:
        open(os.path.join(rootfs, "new-file"), "w").close()
        raise AssertionError("wrote into a read-only snapshot")
    except OSError as e:
        assert e.errno == 30  # EROFS
    rows = json.loads(run_image(store, "snapshot", "list", "--json").stdout)
    assert [(r["key"], r["readOnly"]) for r in rows] == [("ro", True)]


def test_snapshot_is_mounted_again_after_its_mount_went_away(store, registry, images, plain_config):
    pull(store, f"{registry.host}/test/app:v1", plain_config)
    rootfs = prepare(store, "survivor", f"{registry.host}/test/app:v1")
    with open(os.path.join(rootfs, "kept"), "w") as f:
        f.write("state\n")
    subprocess.run(["umount", rootfs], check=True)  # what a reboot does
    assert not os.path.exists(os.path.join(rootfs, "kept"))
    rows = json.loads(run_image(store, "snapshot", "list", "--json").stdout)
    assert [r["key"] for r in rows] == ["survivor"]
    with open(os.path.join(rootfs, "kept")) as f:
        assert f.read() == "state\n"


def test_uncompressed_and_zstd_layers_give_the_same_tree(store, registry, images, plain_config):
    pull(store, f"{registry.host}/test/app:plain", plain_config)
    pull(store, f"{registry.host}/test/app:v1", plain_config)
    # Same diffIDs: the second pull unpacks nothing new.
    assert len(os.listdir(os.path.join(store, "layers"))) == 2
    plain = prepare(store, "plain", f"{registry.host}/test/app:plain")
    with open(os.path.join(plain, "www/index.html")) as f:
        assert f.read() == "<h1>hello from swiftlet</h1>\n"


def test_multi_arch_index_selects_linux_amd64(store, registry, images, plain_config):
    result = pull(store, f"{registry.host}/test/app:multi", plain_config)
    assert result.stdout.strip() == images.v1_config
    assert images.arm_config != images.v1_config
    info = json.loads(run_image(store, "inspect", f"{registry.host}/test/app:multi").stdout)
    assert info["image"]["repoDigests"] == [f"{registry.host}/test/app@{images.multi['digest']}"]
    assert info["config"]["architecture"] == "amd64"


def test_pull_by_digest(store, registry, images, plain_config):
    ref = f"{registry.host}/test/app@{images.v1['digest']}"
    assert pull(store, ref, plain_config).stdout.strip() == images.v1_config
    info = json.loads(run_image(store, "inspect", ref).stdout)
    assert info["image"]["repoTags"] == []
    wrong = f"{registry.host}/test/app@sha256:{'0' * 64}"
    failed = pull(store, wrong, plain_config, check=False)
    assert failed.returncode != 0 and "not found" in failed.stderr


def test_concurrent_pulls_fetch_each_blob_once(store, work, registry, images, plain_config):
    skopeo_push(f"oci:{images.layout_dir}:v1", f"docker://{registry.host}/test/concurrent:v1")
    ref = f"{registry.host}/test/concurrent:v1"
    cmd = [image_cli(), "pull", ref, "--root", store, "--registries-config", plain_config]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert [o[0].strip() for o in outs] == [images.v1_config] * 2
    for layer in images.layers:
        assert registry.blob_gets("test/concurrent", layer["digest"]) == 1, layer["digest"]
    # A third pull fetches no blob at all.
    run_image(store, "pull", ref, config=plain_config)
    for layer in images.layers:
        assert registry.blob_gets("test/concurrent", layer["digest"]) == 1, layer["digest"]


def test_mirror_serves_docker_io(store, work, registry, images):
    config = os.path.join(work, "mirror.yaml")
    with open(config, "w") as f:
        f.write(f'registries:\n  docker.io:\n    mirrors: ["http://{registry.host}"]\n    skipUpstream: true\n')
    assert pull(store, "busybox", config).stdout.strip() == images.v1_config
    info = json.loads(run_image(store, "inspect", "busybox").stdout)
    assert info["image"]["repoTags"] == ["docker.io/library/busybox:latest"]
    assert info["image"]["repoDigests"] == [f"docker.io/library/busybox@{images.v1['digest']}"]
    # The normalized and short forms name the same image.
    assert json.loads(run_image(store, "inspect", "docker.io/library/busybox:latest").stdout)["image"]["id"] == images.v1_config


def test_remove_and_garbage_collect(store, registry, images, plain_config):
    pull(store, f"{registry.host}/test/app:v1", plain_config)
    rootfs = prepare(store, "keep", f"{registry.host}/test/app:v1")
    run_image(store, "rm", f"{registry.host}/test/app:v1")
    assert json.loads(run_image(store, "list", "--json").stdout) == []
    # The snapshot still works: its layers stay while it exists.
    with open(os.path.join(rootfs, "www/index.html")) as f:
        assert f.read().startswith("<h1>")
    assert len(os.listdir(os.path.join(store, "layers"))) == 2
    assert os.listdir(os.path.join(store, "blobs", "sha256")) == []
    run_image(store, "snapshot", "rm", "keep")
    out = run_image(store, "gc").stdout
    assert "removed 0 blobs, 2 layer" in out
    assert os.listdir(os.path.join(store, "layers")) == []
    run_image(store, "rm", f"{registry.host}/test/app:v1")  # absent: not an error
    assert not mounts_under(store)


def test_run_snapshot_with_swiftlet_runc(store, work, registry, images, plain_config):
    runc = os.path.join(os.path.dirname(image_cli()), "swiftlet-runc")
    if not os.access(runc, os.X_OK):
        import pytest
        pytest.skip("swiftlet-runc not built")
    pull(store, f"{registry.host}/test/app:v1", plain_config)
    rootfs = prepare(store, "runc-demo", f"{registry.host}/test/app:v1")
    bundle = os.path.join(work, "bundle-runc-demo")
    os.makedirs(bundle, exist_ok=True)
    subprocess.run([runc, "spec"], cwd=bundle, check=True)
    with open(os.path.join(bundle, "config.json")) as f:
        spec = json.load(f)
    spec["root"] = {"path": rootfs, "readonly": False}
    spec["process"]["terminal"] = False
    spec["process"]["args"] = ["/bin/cat", "/www/index.html"]
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(spec, f)
    state = os.path.join(work, "runc-state")
    out = subprocess.run([runc, "--root", state, "run", "--no-cgroup-enforcement", "image-demo"], cwd=bundle,
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    subprocess.run([runc, "--root", state, "delete", "--force", "image-demo"], capture_output=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "<h1>hello from swiftlet</h1>\n"

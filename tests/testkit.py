"""Helpers every integration suite shares: where the built binaries are, a free loopback port,
and a busybox-static OCI image built from scratch (no registry access needed).

Suites import it with `sys.path.insert(0, <tests dir>)` from their own helper module."""

import gzip
import hashlib
import io
import json
import os
import socket
import subprocess
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def bin_dir() -> Path:
    """$SWIFTLET_BIN_DIR (what scripts/test.sh sets), else the package's debug bin dir."""
    env = os.environ.get("SWIFTLET_BIN_DIR")
    if env:
        path = Path(env)
        return path if path.is_absolute() else REPO / path
    try:
        out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=REPO, capture_output=True,
                             text=True, timeout=120, check=True)
        return Path(out.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        return REPO / ".build" / "debug"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tar_layer(entries) -> bytes:
    """An uncompressed layer tar from (path, kind "dir"|"link"|"file", data, mode) entries."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, kind, data, mode in entries:
            info = tarfile.TarInfo(path)
            info.mtime = 0
            info.mode = mode
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "link":
                info.type = tarfile.SYMTYPE
                info.linkname = data
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def busybox_entries(extra_dirs=(), passwd=b"", group=b""):
    """Layer entries for busybox-static with every applet, root's /etc/passwd and /etc/group
    lines plus `passwd`/`group`, and `extra_dirs` (created 0755)."""
    busybox = Path("/bin/busybox").read_bytes()
    applets = subprocess.run(["/bin/busybox", "--list"], capture_output=True, text=True, check=True).stdout.split()
    entries = [("bin", "dir", None, 0o755), ("etc", "dir", None, 0o755), ("tmp", "dir", None, 0o1777),
               ("root", "dir", None, 0o700)]
    entries += [(d, "dir", None, 0o755) for d in extra_dirs]
    entries.append(("bin/busybox", "file", busybox, 0o755))
    entries += [(f"bin/{a}", "link", "busybox", 0) for a in applets if a != "busybox"]
    entries.append(("etc/passwd", "file", b"root:x:0:0:root:/root:/bin/sh\n" + passwd, 0o644))
    entries.append(("etc/group", "file", b"root:x:0:\n" + group, 0o644))
    return entries


def oci_image_files(entries, config, annotations):
    """The files of an OCI image layout holding one gzip layer made of `entries` and the image
    config object `config` (the "config" part: Env, Cmd, ...), as [(relative path, bytes)]."""
    layer = tar_layer(entries)
    layer_gz = gzip.compress(layer, mtime=0)
    blobs = {}

    def put(data):
        digest = hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return f"sha256:{digest}", len(data)

    layer_digest, layer_size = put(layer_gz)
    cfg = {"architecture": "amd64", "os": "linux", "config": config,
           "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]}}
    cfg_digest, cfg_size = put(json.dumps(cfg).encode())
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg_digest, "size": cfg_size},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest,
                            "size": layer_size}]}
    man_digest, man_size = put(json.dumps(manifest).encode())
    index = {"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": man_digest, "size": man_size,
         "annotations": annotations}]}
    files = [("oci-layout", b'{"imageLayoutVersion": "1.0.0"}'), ("index.json", json.dumps(index).encode())]
    files += [(f"blobs/sha256/{d}", b) for d, b in blobs.items()]
    return files

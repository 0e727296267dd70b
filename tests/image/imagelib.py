"""Helpers for the image store suite: OCI layouts built from scratch, a real docker-registry
(plain, htpasswd, TLS, token auth), skopeo pushes and the swiftlet-image CLI."""
import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import zstandard

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from testkit import bin_dir, free_port  # noqa: E402



def image_cli():
    return os.path.join(bin_dir(), "swiftlet-image")


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- tar layers

def tar_bytes(entries):
    """entries: list of dicts {name, type: file|dir|symlink|hardlink|char|block|fifo, data, mode,
    uid, gid, link, major, minor, xattrs}. Written as PAX (xattrs as SCHILY.xattr.*)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            info = tarfile.TarInfo(e["name"])
            kind = e.get("type", "file")
            info.mode = e.get("mode", 0o755 if kind == "dir" else 0o644)
            info.uid = e.get("uid", 0)
            info.gid = e.get("gid", 0)
            info.mtime = e.get("mtime", 1700000000)
            data = None
            if kind == "file":
                data = e.get("data", b"")
                info.size = len(data)
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind == "symlink":
                info.type = tarfile.SYMTYPE
                info.linkname = e["link"]
            elif kind == "hardlink":
                info.type = tarfile.LNKTYPE
                info.linkname = e["link"]
            elif kind in ("char", "block"):
                info.type = tarfile.CHRTYPE if kind == "char" else tarfile.BLKTYPE
                info.devmajor = e.get("major", 0)
                info.devminor = e.get("minor", 0)
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
            if e.get("xattrs"):
                info.pax_headers = {"SCHILY.xattr." + k: v for k, v in e["xattrs"].items()}
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def busybox_entries():
    """A busybox-static root file system: /bin/busybox plus applet symlinks, /etc, /tmp."""
    with open(shutil.which("busybox") or "/bin/busybox", "rb") as f:
        busybox = f.read()
    entries = [
        {"name": "bin", "type": "dir"},
        {"name": "bin/busybox", "data": busybox, "mode": 0o755},
    ]
    for applet in ["sh", "ls", "cat", "echo", "id", "stat", "httpd", "sleep", "wget", "true", "test", "readlink"]:
        entries.append({"name": f"bin/{applet}", "type": "symlink", "link": "/bin/busybox"})
    entries += [
        {"name": "etc", "type": "dir"},
        {"name": "etc/passwd", "data": b"root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n"},
        {"name": "etc/group", "data": b"root:x:0:\nnobody:x:65534:\n"},
        {"name": "tmp", "type": "dir", "mode": 0o1777},
        {"name": "root", "type": "dir", "mode": 0o700},
        {"name": "dev", "type": "dir"},
        {"name": "proc", "type": "dir"},
        {"name": "sys", "type": "dir"},
    ]
    return entries


def app_entries():
    """A small layer on top: a static web root served by busybox httpd, and the cases the
    unpacker must get right (owners, modes, hardlinks, xattrs, a device, a whiteout, an opaque dir)."""
    return [
        {"name": "www", "type": "dir"},
        {"name": "www/index.html", "data": b"<h1>hello from swiftlet</h1>\n", "mode": 0o644, "uid": 1000, "gid": 1001},
        {"name": "www/setuid", "data": b"#!/bin/sh\n", "mode": 0o4755},
        {"name": "www/link", "type": "hardlink", "link": "www/index.html"},
        {"name": "www/tagged", "data": b"x", "xattrs": {"user.swiftlet": "yes"}},
        {"name": "etc", "type": "dir"},
        {"name": "etc/motd", "data": b"app layer\n"},
        {"name": "dev", "type": "dir"},
        {"name": "dev/null", "type": "char", "major": 1, "minor": 3, "mode": 0o666},
        {"name": "etc/.wh.group", "data": b""},
        {"name": "tmp", "type": "dir", "mode": 0o1777},
        {"name": "tmp/.wh..wh..opq", "data": b""},
        {"name": "tmp/fresh", "data": b"new\n"},
        {"name": "serve.sh", "data": b"#!/bin/sh\nexec httpd -f -p 8080 -h /www\n", "mode": 0o755},
    ]


def compress(data, kind):
    if kind == "gzip":
        return gzip.compress(data, compresslevel=6, mtime=0)
    if kind == "zstd":
        return zstandard.ZstdCompressor().compress(data)
    return data


LAYER_TYPES = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    None: "application/vnd.oci.image.layer.v1.tar",
}


class Layout:
    """An OCI image layout directory written blob by blob."""

    def __init__(self, path):
        self.path = path
        os.makedirs(os.path.join(path, "blobs", "sha256"), exist_ok=True)
        with open(os.path.join(path, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)
        self.index = []

    def blob(self, data, media_type, **extra):
        digest = sha256(data)
        with open(os.path.join(self.path, "blobs", "sha256", digest[7:]), "wb") as f:
            f.write(data)
        return dict({"mediaType": media_type, "digest": digest, "size": len(data)}, **extra)

    def image(self, layer_tars, compression="gzip", arch="amd64", cmd=None, config_extra=None):
        """Writes layers, config and manifest; returns the manifest descriptor."""
        layers = [self.blob(compress(t, c), LAYER_TYPES[c])
                  for t, c in zip(layer_tars, compression if isinstance(compression, list) else [compression] * len(layer_tars))]
        config = {
            "architecture": arch, "os": "linux",
            "config": dict({"Env": ["PATH=/bin"], "Cmd": cmd or ["/bin/sh"], "WorkingDir": "/",
                            "ExposedPorts": {"8080/tcp": {}}, "Labels": {"org.example": "swiftlet"},
                            "StopSignal": "SIGTERM", "User": "0:0"}, **(config_extra or {})),
            "rootfs": {"type": "layers", "diff_ids": [sha256(t) for t in layer_tars]},
        }
        config_desc = self.blob(json.dumps(config).encode(), "application/vnd.oci.image.config.v1+json")
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": config_desc, "layers": layers}
        return self.blob(json.dumps(manifest).encode(), "application/vnd.oci.image.manifest.v1+json",
                         platform={"architecture": arch, "os": "linux"}), config_desc["digest"]

    def add(self, descriptor, ref_name):
        entry = dict(descriptor)
        entry["annotations"] = {"org.opencontainers.image.ref.name": ref_name}
        self.index.append(entry)
        self.write_index()

    def multiarch(self, descriptors):
        index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": descriptors}
        return self.blob(json.dumps(index).encode(), "application/vnd.oci.image.index.v1+json")

    def write_index(self):
        with open(os.path.join(self.path, "index.json"), "w") as f:
            json.dump({"schemaVersion": 2, "manifests": self.index}, f)


# ---------------------------------------------------------------- registry

class Registry:
    """Debian's docker-registry on 127.0.0.1 with its own storage, config and access log."""

    def __init__(self, workdir, tls=None, htpasswd=None, token=None):
        self.dir = tempfile.mkdtemp(dir=workdir, prefix="registry-")
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.storage = os.path.join(self.dir, "storage")
        self.log_path = os.path.join(self.dir, "registry.log")
        config = {
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": False}},
            "storage": {"filesystem": {"rootdirectory": self.storage}, "delete": {"enabled": True},
                        "cache": {"blobdescriptor": "inmemory"}},
            "http": {"addr": self.host, "secret": "swiftlet-test"},
        }
        if tls:
            config["http"]["tls"] = {"certificate": tls[0], "key": tls[1]}
        if htpasswd:
            config["auth"] = {"htpasswd": {"realm": "swiftlet", "path": htpasswd}}
        if token:
            config["auth"] = {"token": token}
        self.config_path = os.path.join(self.dir, "config.yml")
        with open(self.config_path, "w") as f:
            json.dump(config, f)  # JSON is YAML
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(["docker-registry", "serve", self.config_path],
                                     stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("registry exited: " + open(self.log_path).read())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("registry did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def access_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def blob_gets(self, repository, digest):
        """How many GET requests for this blob of this repository the registry answered with 200
        (from its access log)."""
        return sum(1 for line in self.access_log().splitlines()
                   if f'"GET /v2/{repository}/blobs/{digest} ' in line and '" 200 ' in line)

    def blob_data_path(self, digest):
        hexd = digest[7:]
        return os.path.join(self.storage, "docker", "registry", "v2", "blobs", "sha256", hexd[:2], hexd, "data")


def skopeo_push(source, dest, creds=None, cert_dir=None, multi=False):
    cmd = ["skopeo", "copy", "--quiet", "--preserve-digests", source, dest]
    if cert_dir:
        cmd.insert(2, f"--dest-cert-dir={cert_dir}")
    else:
        cmd.insert(2, "--dest-tls-verify=false")
    if creds:
        cmd.insert(2, f"--dest-creds={creds}")
    if multi:
        cmd.insert(2, "--all")
    subprocess.run(cmd, check=True, capture_output=True, stdin=subprocess.DEVNULL, timeout=120)


def run_image(root, *args, config=None, check=True, timeout=180):
    cmd = [image_cli()] + list(args) + ["--root", root]
    if config:
        cmd += ["--registries-config", config]
    result = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{cmd} failed ({result.returncode}):\nstdout: {result.stdout}\nstderr: {result.stderr}")
    return result


def mounts_under(path):
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(path)]

#!/usr/bin/env python3
"""make-busybox-image.py OUT.tar: an OCI image layout tar holding busybox-static with every
applet (the host's /bin/busybox), for `swiftlet-image import`. No registry access needed."""
import io
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from testkit import busybox_entries, oci_image_files  # noqa: E402

if len(sys.argv) != 2:
    sys.exit("usage: make-busybox-image.py OUT.tar")
config = {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["sh"]}
files = oci_image_files(busybox_entries(extra_dirs=("www",)), config,
                        {"org.opencontainers.image.ref.name": "stable"})
with tarfile.open(sys.argv[1], "w") as tar:
    for name, data in files:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))

"""Mounts, masked and readonly paths, readonly root, propagation, devices."""

import os
import subprocess
import time

import pytest


def proc_mount(output: str, dest: str) -> tuple[str, set[str]]:
    """Find `dest` in /proc/mounts text; returns (fstype, options)."""
    found = None
    for line in output.splitlines():
        f = line.split()
        if len(f) >= 4 and f[1] == dest:
            found = (f[2], set(f[3].split(",")))
    assert found, f"{dest} not mounted:\n{output}"
    return found  # the last (top) mount wins


def test_tmpfs_mount_with_options(rt, bundle):
    bundle.add_mount(destination="/data", type="tmpfs", source="tmpfs",
                     options=["nosuid", "nodev", "noexec", "mode=750", "size=1m"])
    bundle.sh("cat /proc/mounts; echo; stat -c %a /data; echo hi > /data/f && cat /data/f")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    fstype, opts = proc_mount(r.stdout, "/data")
    assert fstype == "tmpfs"
    assert {"nosuid", "nodev", "noexec", "size=1024k", "mode=750"} <= opts, opts
    assert r.stdout.splitlines()[-2:] == ["750", "hi"]


@pytest.fixture
def hostdir(bundle):
    d = bundle.path / "hostdir"
    d.mkdir()
    (d / "hello").write_text("from-host\n")
    return d


def test_bind_mount_readonly(rt, bundle, hostdir):
    bundle.add_mount(destination="/host", type="bind", source=str(hostdir), options=["rbind", "ro"])
    bundle.sh("cat /host/hello; touch /host/new 2>&1; echo rc=$?; grep ' /host ' /proc/mounts")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "from-host"
    assert "Read-only file system" in r.stdout
    assert "rc=1" in r.stdout
    assert "ro" in lines[-1].split()[3].split(",")
    assert not (hostdir / "new").exists()


def test_bind_mount_readwrite(rt, bundle, hostdir):
    bundle.add_mount(destination="/host", type="bind", source=str(hostdir), options=["rbind", "rw"])
    bundle.sh("echo from-container > /host/new")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert (hostdir / "new").read_text() == "from-container\n"


def test_bind_mount_nosuid_nodev_noexec(rt, bundle, hostdir):
    subprocess.run(["cp", "/bin/busybox", str(hostdir / "bb")], check=True)
    bundle.add_mount(destination="/host", type="bind", source=str(hostdir),
                     options=["bind", "nosuid", "nodev", "noexec"])
    bundle.sh("grep ' /host ' /proc/mounts; /host/bb true; echo rc=$?")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    opts = set(r.stdout.splitlines()[0].split()[3].split(","))
    assert {"nosuid", "nodev", "noexec"} <= opts
    assert "rc=126" in r.stdout  # exec refused: Permission denied


def test_bind_mount_file(rt, bundle, hostdir):
    bundle.add_mount(destination="/etc/hello.conf", type="bind", source=str(hostdir / "hello"),
                     options=["bind", "ro"])
    bundle.sh("cat /etc/hello.conf")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "from-host\n"


def test_mount_destination_created_nested(rt, bundle):
    bundle.add_mount(destination="/a/b/c", type="tmpfs", source="tmpfs", options=["size=64k"])
    bundle.sh("grep ' /a/b/c ' /proc/mounts | cut -d' ' -f3")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "tmpfs\n"


def test_default_mounts(rt, bundle):
    bundle.sh("cat /proc/mounts")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    types = {line.split()[1]: line.split()[2] for line in r.stdout.splitlines()}
    assert types["/proc"] == "proc"
    assert types["/dev"] == "tmpfs"
    assert types["/dev/pts"] == "devpts"
    assert types["/dev/shm"] == "tmpfs"
    assert types["/dev/mqueue"] == "mqueue"
    assert types["/sys"] == "sysfs"


def test_cgroup_mount_is_own_cgroup_readonly(rt, bundle):
    """Without a cgroup namespace, /sys/fs/cgroup shows the container's own cgroup (its init,
    pid 1 here, is in the root's cgroup.procs), never the host's hierarchy, and is read-only."""
    bundle.drop_namespace("cgroup")
    bundle.sh("grep -qx 1 /sys/fs/cgroup/cgroup.procs && echo own || echo other;"
              " grep ' /sys/fs/cgroup ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1;"
              " touch /sys/fs/cgroup/x 2>/dev/null && echo writable || echo refused")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    if rt.lacks("cgroup2-view"):
        pytest.skip(f"{rt.name} {rt.version}: v1 cgroup mounts on this hybrid host")
    assert r.stdout.split() == ["own", "ro", "refused"]


def test_masked_paths(rt, bundle):
    (bundle.rootfs / "secret").mkdir()
    (bundle.rootfs / "secret" / "key").write_text("hunter2")
    (bundle.rootfs / "etc" / "token").write_text("s3cr3t")
    bundle.linux["maskedPaths"] = bundle.linux.get("maskedPaths", []) + ["/secret", "/etc/token",
                                                                         "/proc/kcore"]
    bundle.write()
    bundle.sh("echo kcore=$(wc -c < /proc/kcore); echo secret=$(ls -A /secret | wc -l); "
              "cat /secret/key 2>/dev/null; echo token=$(wc -c < /etc/token); "
              "echo firmware=$(ls -A /sys/firmware | wc -l)")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    if os.path.exists("/proc/kcore"):  # this host's kernel has none
        assert "kcore=0\n" in r.stdout  # /proc/kcore reads empty
    assert "token=0\n" in r.stdout  # masked file reads empty
    assert "secret=0\n" in r.stdout  # masked dir is empty
    assert "hunter2" not in r.stdout
    assert "firmware=0\n" in r.stdout  # /sys/firmware is in the spec default


def test_readonly_paths(rt, bundle):
    bundle.sh("(echo 1 > /proc/sys/kernel/ns_last_pid) 2>&1; echo rc=$?; "
              "grep ' /proc/sys ' /proc/mounts")
    for s in bundle.process["capabilities"].values():
        s.append("CAP_SYS_ADMIN")  # so only the ro mount can refuse the write
    bundle.write()
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert "Read-only file system" in r.stdout, r.stdout
    assert "rc=1" in r.stdout
    assert "ro" in r.stdout.splitlines()[-1].split()[3].split(",")


def test_readonly_root(rt, bundle):
    bundle.config["root"]["readonly"] = True
    bundle.sh("touch /x 2>&1; echo rc=$?; touch /tmp/y 2>&1; echo rc=$?")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert "Read-only file system" in r.stdout
    assert r.stdout.splitlines()[1] == "rc=1"
    assert not (bundle.rootfs / "x").exists()


def test_readonly_root_with_tmpfs_writable(rt, bundle):
    bundle.config["root"]["readonly"] = True
    bundle.add_mount(destination="/tmp", type="tmpfs", source="tmpfs", options=["size=1m"])
    bundle.sh("touch /tmp/y && echo ok")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "ok\n"


def root_propagation(mountinfo: str) -> str:
    for line in mountinfo.splitlines():
        f = line.split()
        if f[4] == "/":
            opt = f[6:f.index("-")]
            tags = {o.split(":")[0] for o in opt}
            return "shared" if "shared" in tags else "slave" if "master" in tags else "private"
    raise AssertionError("no / in mountinfo")


@pytest.mark.parametrize("prop", ["private", "rprivate", "slave", "rslave", "shared", "rshared"])
def test_rootfs_propagation(rt, bundle, prop):
    bundle.linux["rootfsPropagation"] = prop
    bundle.sh("cat /proc/self/mountinfo")
    bundle.write()
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    want = prop.removeprefix("r")
    got = root_propagation(r.stdout)
    if want == "shared" and rt.lacks("rootfsPropagation-shared"):
        pytest.skip(f"{rt.name} {rt.version} leaves / private for rootfsPropagation={prop}")
    if want == "slave":
        # slave of a private host mount is private: nothing to receive from
        assert got in ("slave", "private")
    else:
        assert got == want, r.stdout


@pytest.fixture
def shared_hostdir(bundle):
    d = bundle.path / "shared"
    d.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "swt-shared", str(d)], check=True)
    subprocess.run(["mount", "--make-shared", str(d)], check=True)
    (d / "sub").mkdir()
    yield d
    subprocess.run(["umount", "-R", "-l", str(d)], capture_output=True)


@pytest.mark.parametrize("prop,visible", [("rslave", True), ("rprivate", False)])
def test_bind_mount_propagation(rt, bundle, shared_hostdir, prop, visible):
    """A host mount made under a shared source after start reaches the
    container through an rslave bind, not through an rprivate one."""
    bundle.add_mount(destination="/shared", type="bind", source=str(shared_hostdir),
                     options=["rbind", prop])
    bundle.sh("while [ ! -e /proc/self ]; do :; done; echo ready; "
              "for i in $(seq 40); do [ -e /shared/sub/marker ] && break; sleep 0.05; done; "
              "ls /shared/sub")
    rt.create(bundle)
    rt.ok("start", bundle.id)
    subprocess.run(["mount", "-t", "tmpfs", "swt-late", str(shared_hostdir / "sub")], check=True)
    (shared_hostdir / "sub" / "marker").write_text("x")
    rt.wait_status(bundle.id, "stopped", timeout=15)
    assert ("marker" in bundle.output()) == visible, bundle.output()


def test_default_devices(rt, bundle):
    bundle.sh("for d in null zero full random urandom tty; do "
              "stat -c '%n %F %t:%T' /dev/$d; done; echo x > /dev/null && echo null-ok; "
              "head -c 4 /dev/zero | wc -c")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    want = {"/dev/null": "1:3", "/dev/zero": "1:5", "/dev/full": "1:7",
            "/dev/random": "1:8", "/dev/urandom": "1:9", "/dev/tty": "5:0"}
    for line in lines[:6]:
        name, kind, majmin = line.split(" ", 1)[0], line.split(" ", 1)[1].rsplit(" ", 1)[0], line.rsplit(" ", 1)[1]
        assert kind == "character special file", line
        maj, mnr = (int(x, 16) for x in majmin.split(":"))
        assert f"{maj}:{mnr}" == want[name]
    assert "null-ok" in lines
    assert lines[-1].strip() == "4"


def test_linux_devices(rt, bundle):
    bundle.linux["devices"] = [{"path": "/dev/mynull", "type": "c", "major": 1, "minor": 3,
                                "fileMode": 0o666, "uid": 0, "gid": 0}]
    bundle.linux.setdefault("resources", {}).setdefault("devices", []).append(
        {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"})
    bundle.write()
    bundle.sh("stat -c '%F %t:%T %a' /dev/mynull; echo x > /dev/mynull && echo write-ok")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["character special file 1:3 666", "write-ok"]

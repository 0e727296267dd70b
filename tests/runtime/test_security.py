"""The container must not reach host fds, the runtime binary, or the host
filesystem through its working directory."""

import hashlib
import os
import shutil
import subprocess
import time
import uuid

import pytest

from ocitest import Runtime


def fds_listing(out: str) -> list[str]:
    return sorted(out.split(), key=int)


def test_no_host_fd_inside_run(rt, bundle):
    bundle.sh("ls /proc/self/fd")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    # 0-2 plus the directory fd `ls` itself opened
    assert fds_listing(r.stdout) == ["0", "1", "2", "3"]


def test_no_host_fd_in_container_init(rt, bundle):
    """Seen from the host: the container's process holds exactly 0, 1, 2."""
    bundle.args("sleep", "30")
    rt.create(bundle)
    pid = rt.state(bundle.id)["pid"]
    rt.ok("start", bundle.id)
    time.sleep(0.1)
    assert sorted(os.listdir(f"/proc/{pid}/fd"), key=int) == ["0", "1", "2"]
    for fd in ("0", "1", "2"):
        target = os.readlink(f"/proc/{pid}/fd/{fd}")
        assert target in ("/dev/null", str(bundle.stdout_path), str(bundle.stderr_path)), target


def test_no_host_fd_in_exec(rt, bundle):
    bundle.args("sleep", "30")
    rt.create(bundle)
    rt.ok("start", bundle.id)
    r = rt("exec", bundle.id, "ls", "/proc/self/fd")
    assert r.returncode == 0, r.stderr
    assert fds_listing(r.stdout) == ["0", "1", "2", "3"]


def _with_fds(files: dict[int, str]):
    """preexec_fn placing opened files at exact fd numbers."""
    def pre():
        for num, path in files.items():
            fd = os.open(path, os.O_RDONLY)
            if fd != num:
                os.dup2(fd, num)
                os.close(fd)
    return pre


def test_preserve_fds(rt, bundle, tmp_path):
    a, b = tmp_path / "three", tmp_path / "four"
    a.write_text("passed-fd-3\n")
    b.write_text("passed-fd-4\n")
    bundle.sh("cat <&3; ls /proc/self/fd | tr '\\n' ' '")
    r = rt("run", "--preserve-fds", "1", "--bundle", bundle.path, bundle.id,
           preexec_fn=_with_fds({3: str(a), 4: str(b)}), pass_fds=(3, 4))
    bundle.created.add(bundle.id)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "passed-fd-3"
    assert sorted(lines[1].split(), key=int) == ["0", "1", "2", "3", "4"]  # 4: ls's own dir fd
    assert "passed-fd-4" not in r.stdout


def test_preserve_fds_zero_closes_extra(rt, bundle, tmp_path):
    a = tmp_path / "three"
    a.write_text("x")
    bundle.sh("ls /proc/self/fd")
    r = rt("run", "--bundle", bundle.path, bundle.id,
           preexec_fn=_with_fds({3: str(a)}), pass_fds=(3,))
    bundle.created.add(bundle.id)
    assert r.returncode == 0, r.stderr
    assert fds_listing(r.stdout) == ["0", "1", "2", "3"]  # 3 is ls's own, not ours
    assert "x" not in r.stdout


def test_proc_1_exe_is_container_binary(rt, bundle):
    bundle.sh("readlink /proc/1/exe; readlink /proc/self/exe")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["/bin/busybox", "/bin/busybox"]


def test_exec_process_exe_is_container_binary(rt, bundle):
    bundle.args("sleep", "30")
    rt.create(bundle)
    rt.ok("start", bundle.id)
    r = rt("exec", bundle.id, "sh", "-c", "readlink /proc/self/exe; (echo x >> /proc/self/exe) 2>&1; echo rc=$?")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "/bin/busybox"
    assert "rc=1" in lines  # a running binary cannot be opened for writing


SNOOP = r"""
while [ ! -e /stop-snoop ]; do
  for p in /proc/[0-9]*; do
    e=$(readlink $p/exe 2>/dev/null) || continue
    case "$e" in /bin/busybox|"") continue ;; esac
    echo "seen $e"
    (echo x >> $p/exe) 2>/dev/null && echo "WROTE $e"
    ( exec 7< $p/exe && echo "OPENED $e" && sleep 0.3 && (echo x >> /proc/self/fd/7) && echo "WROTE-LATER $e" ) 2>/dev/null
  done
done
echo snoop-done
"""


def test_runtime_binary_not_writable_from_container(rt, bundle, tmp_path):
    """CVE-2019-5736 class: while `exec` enters the container, a process
    inside hunts for a /proc/PID/exe that is not its own binary and tries to
    write through it. Run against a copy of the runtime so a vulnerable
    runtime can only damage the copy."""
    copy = tmp_path / ("swiftlet-runc" if rt.is_swiftlet else rt.name)
    shutil.copy2(rt.path, copy)
    before = hashlib.sha256(copy.read_bytes()).hexdigest()
    crt = Runtime(str(copy), rt.root, rt.extra_args)
    bundle.sh(SNOOP)
    crt.create(bundle)
    crt.ok("start", bundle.id)
    deadline = time.monotonic() + 3.5
    n = 0
    while time.monotonic() < deadline:
        r = crt("exec", bundle.id, "true")
        assert r.returncode == 0, f"{r.stderr}\ncontainer output: {bundle.output()}{bundle.errors()}"
        n += 1
    (bundle.rootfs / "stop-snoop").touch()
    crt.wait_status(bundle.id, "stopped", timeout=15)
    out = bundle.output()
    assert "snoop-done" in out
    assert n > 3
    assert "WROTE" not in out, out
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == before
    for line in out.splitlines():
        if line.startswith("seen "):
            assert str(copy) not in line, f"runtime binary visible inside: {line}"


def test_cwd_dotdot_stays_inside(rt, bundle):
    (bundle.rootfs / "ROOTFS_MARKER").touch()
    bundle.process["cwd"] = "/../../../../../../.."
    bundle.sh("pwd; ls")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "/"
    assert "ROOTFS_MARKER" in r.stdout


def test_cwd_symlink_escape_stays_inside(rt, bundle):
    (bundle.rootfs / "ROOTFS_MARKER").touch()
    os.symlink("../../../../../../../../..", bundle.rootfs / "evil")
    bundle.process["cwd"] = "/evil"
    bundle.sh("ls")
    r = rt.run(bundle)
    if r.returncode == 0:
        assert "ROOTFS_MARKER" in r.stdout, r.stdout


def test_cwd_symlink_host_absolute_stays_inside(rt, bundle):
    host_only = f"/tmp/swt-host-only-{uuid.uuid4().hex[:8]}"
    os.mkdir(host_only)
    try:
        (bundle.rootfs / "ROOTFS_MARKER").touch()
        os.symlink(host_only, bundle.rootfs / "evil")
        bundle.process["cwd"] = "/evil"
        bundle.sh("pwd -P; ls -a /tmp")
        r = rt.run(bundle)
        if r.returncode == 0:
            # resolved inside the rootfs: /tmp/swt-host-only-* is a new dir there
            assert (bundle.rootfs / host_only.lstrip("/")).is_dir() or host_only not in r.stdout
            assert not os.listdir(host_only)
    finally:
        shutil.rmtree(host_only, ignore_errors=True)


@pytest.mark.parametrize("fd", range(3, 10))
def test_cwd_proc_self_fd_escape(rt, bundle, fd):
    """CVE-2024-21626 class: cwd /proc/self/fd/N must not reach a host
    directory through a descriptor the runtime leaked."""
    marker = f"swt-host-marker-{uuid.uuid4().hex[:8]}"
    open(f"/tmp/{marker}", "w").close()
    try:
        bundle.process["cwd"] = f"/proc/self/fd/{fd}"
        bundle.sh("ls -a ../../../../../../../../tmp 2>&1; cat ../../../../../../../../etc/hostname 2>&1")
        r = rt.run(bundle)
        assert marker not in r.stdout, f"escaped to host through fd {fd}: {r.stdout}"
        host_hostname = open("/etc/hostname").read().strip() if os.path.exists("/etc/hostname") else None
        if host_hostname:
            assert host_hostname not in r.stdout.splitlines()
    finally:
        os.unlink(f"/tmp/{marker}")


def test_proc_is_fresh_procfs(rt, bundle):
    """/proc inside shows only the container's processes."""
    bundle.sh("ls -d /proc/[0-9]* | wc -l")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.strip()) <= 4


def test_cannot_see_host_root(rt, bundle):
    bundle.sh("ls /; ls /boot 2>&1; echo; cat /etc/os-release 2>&1")
    r = rt.run(bundle)
    assert "Debian" not in r.stdout
    assert "vmlinuz" not in r.stdout


def _keyring_names() -> str:
    with open("/proc/keys") as f:
        return f.read()


def test_container_gets_its_own_session_keyring(rt, bundle):
    """The init joins a new session keyring named after the container, so it cannot reach the
    caller's keys; --no-new-keyring keeps the caller's."""
    bundle.args("sleep", "30")
    rt.create(bundle)
    assert f"_ses.{bundle.id}" in _keyring_names()


def test_no_new_keyring_keeps_the_callers(rt, bundle):
    bundle.args("sleep", "30")
    rt.create(bundle, None, "--no-new-keyring")
    assert f"_ses.{bundle.id}" not in _keyring_names()

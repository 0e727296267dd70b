"""exec into a running container."""

import json
import os

import pytest

from console import ConsoleSocket
from ocitest import cap_names, parse_status


@pytest.fixture
def running(rt, bundle):
    bundle.config["hostname"] = "exec-host"
    bundle.args("sleep", "60")
    rt.create(bundle)
    rt.ok("start", bundle.id)
    return bundle


def test_exec_plain_form(rt, running):
    r = rt("exec", running.id, "sh", "-c", "echo $$; hostname; ps -o pid,comm")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert int(lines[0]) > 1  # not the container's init
    assert lines[1] == "exec-host"
    procs = {l.split()[0]: l.split()[1] for l in lines[3:]}
    assert procs.get("1") == "sleep"  # same pid namespace as the container


def test_exec_same_namespaces(rt, running):
    init = rt.state(running.id)["pid"]
    r = rt("exec", running.id, "sh", "-c", "for n in pid net ipc uts mnt; do readlink /proc/self/ns/$n; done")
    assert r.returncode == 0, r.stderr
    inside = r.stdout.split()
    host_view = [os.readlink(f"/proc/{init}/ns/{n}") for n in ("pid", "net", "ipc", "uts", "mnt")]
    assert inside == host_view


@pytest.mark.parametrize("code", [0, 1, 7, 255])
def test_exec_exit_code(rt, running, code):
    r = rt("exec", running.id, "sh", "-c", f"exit {code}")
    assert r.returncode == code


def test_exec_env_cwd_user(rt, running):
    (running.rootfs / "srv").mkdir()
    r = rt("exec", "--env", "FOO=bar", "--env", "X=1", "--cwd", "/srv", "--user", "1000:1001",
           running.id, "sh", "-c", "echo $FOO $X; pwd; id -u; id -g")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["bar 1", "/srv", "1000", "1001"]


def test_exec_inherits_container_env(rt, bundle):
    bundle.process["env"] = ["PATH=/bin", "FROM_CONFIG=yes"]
    bundle.args("sleep", "60")
    rt.create(bundle)
    rt.ok("start", bundle.id)
    r = rt("exec", bundle.id, "env")
    assert r.returncode == 0, r.stderr
    assert "FROM_CONFIG=yes" in r.stdout.splitlines()


def test_exec_process_json(rt, running, tmp_path):
    proc = {
        "terminal": False,
        "user": {"uid": 1000, "gid": 1000, "additionalGids": [5]},
        "args": ["sh", "-c", "echo $A; pwd; id -u; cat /proc/self/status"],
        "env": ["PATH=/bin", "A=from-process-json"],
        "cwd": "/tmp",
        "capabilities": {"bounding": ["CAP_KILL"], "effective": [], "permitted": [],
                         "inheritable": [], "ambient": []},
        "noNewPrivileges": True,
        "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 77, "hard": 88}],
    }
    pj = tmp_path / "process.json"
    pj.write_text(json.dumps(proc))
    r = rt("exec", "--process", str(pj), running.id)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[:3] == ["from-process-json", "/tmp", "1000"]
    st = parse_status("\n".join(lines[3:]))
    assert cap_names(int(st["CapBnd"], 16)) == {"CAP_KILL"}
    assert int(st["CapEff"], 16) == 0
    assert st["NoNewPrivs"] == "1"
    assert st["Groups"].split() == ["5"]


def test_exec_process_json_exit_code(rt, running, tmp_path):
    proc = {"args": ["sh", "-c", "exit 9"], "cwd": "/", "env": ["PATH=/bin"],
            "user": {"uid": 0, "gid": 0}}
    pj = tmp_path / "process.json"
    pj.write_text(json.dumps(proc))
    assert rt("exec", "--process", str(pj), running.id).returncode == 9


def test_exec_detach_pid_file(rt, running, tmp_path):
    pidfile = tmp_path / "exec.pid"
    r = rt("exec", "--detach", "--pid-file", str(pidfile), running.id, "sleep", "30",
           stdout=open(os.devnull, "w"), stderr=open(os.devnull, "w"))
    assert r.returncode == 0
    pid = int(pidfile.read_text())
    assert pid in running.processes_inside()
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[:2] == [b"sleep", b"30"]


def test_exec_into_stopped_fails(rt, bundle):
    bundle.args("true")
    rt.create(bundle)
    rt.ok("start", bundle.id)
    rt.wait_status(bundle.id, "stopped")
    r = rt("exec", bundle.id, "true")
    assert r.returncode != 0
    assert r.stderr.strip()


def test_exec_unknown_container_fails(rt):
    r = rt("exec", "no-such-container", "true")
    assert r.returncode != 0
    assert r.stderr.strip()


def test_exec_missing_binary_fails(rt, running):
    r = rt("exec", running.id, "/no/such/binary")
    assert r.returncode != 0
    assert rt.status(running.id) == "running"


def test_exec_seccomp_applies(rt, bundle):
    bundle.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                                             "errnoRet": 1}]}
    bundle.args("sleep", "60")
    rt.create(bundle)
    rt.ok("start", bundle.id)
    r = rt("exec", bundle.id, "sh", "-c", "mkdir /tmp/d 2>&1")
    assert "Operation not permitted" in r.stdout


def test_exec_caps_default_to_container(rt, bundle):
    caps = ["CAP_KILL", "CAP_CHOWN"]
    bundle.process["capabilities"] = {k: caps for k in ("bounding", "effective", "permitted")}
    bundle.args("sleep", "60")
    rt.create(bundle)
    rt.ok("start", bundle.id)
    r = rt("exec", bundle.id, "cat", "/proc/self/status")
    assert r.returncode == 0, r.stderr
    st = parse_status(r.stdout)
    assert cap_names(int(st["CapBnd"], 16)) == set(caps)
    assert cap_names(int(st["CapEff"], 16)) == set(caps)


def test_exec_tty_console_socket(rt, running):
    import tempfile
    d = tempfile.mkdtemp(prefix="swt-exec-console-")
    console = ConsoleSocket(os.path.join(d, "c.sock"))
    try:
        r = rt("exec", "--tty", "--detach", "--console-socket", console.path, running.id,
               "sh", "-c", "tty; echo exec-tty-ok")
        assert r.returncode == 0, r.stderr
        out = ConsoleSocket.read_until_closed(console.master()).decode()
        assert "exec-tty-ok" in out
        assert "/dev/pts/" in out
    finally:
        console.close()
        os.rmdir(d)


def test_exec_concurrent(rt, running):
    """Concurrent execs into one container all succeed (state locking)."""
    import subprocess
    procs = [subprocess.Popen(rt.argv("exec", running.id, "sh", "-c", f"echo n{i}"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(6)]
    outs = [p.communicate(timeout=30) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert sorted(o[0].strip() for o in outs) == [f"n{i}" for i in range(6)]

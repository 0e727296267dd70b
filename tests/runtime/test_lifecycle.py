"""Container lifecycle through the runc CLI verbs."""

import json
import os
import signal
import time

import pytest


def test_create_start_stop_delete(rt, bundle):
    bundle.sh("sleep 0.3; echo hello-from-container")
    rt.create(bundle)
    st = rt.state(bundle.id)
    assert st["status"] == "created"
    assert st["id"] == bundle.id
    assert st["pid"] > 0
    assert os.path.realpath(st["bundle"]) == os.path.realpath(bundle.path)
    assert os.path.exists(f"/proc/{st['pid']}")
    assert bundle.output() == ""  # the user process has not run yet
    rt.ok("start", bundle.id)
    assert rt.status(bundle.id) in ("running", "stopped")
    rt.wait_status(bundle.id, "stopped")
    assert bundle.output() == "hello-from-container\n"
    rt.ok("delete", bundle.id)
    assert rt("state", bundle.id).returncode != 0
    bundle.assert_nothing_left()


def test_running_state(rt, bundle):
    bundle.args("sleep", "30")
    rt.create(bundle)
    rt.ok("start", bundle.id)
    st = rt.state(bundle.id)
    assert st["status"] == "running"
    assert st["pid"] > 0
    with open(f"/proc/{st['pid']}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[0] == b"sleep"
    # the leftover detector used by assert_nothing_left really sees it
    assert bundle.processes_inside() == [st["pid"]]
    assert bundle.cgroup_dirs(), "cgroupsPath leaf not found under /sys/fs/cgroup"
    rt.ok("kill", bundle.id, "KILL")
    rt.wait_status(bundle.id, "stopped")
    rt.ok("delete", bundle.id)
    bundle.assert_nothing_left()


def test_start_twice_fails(rt, bundle):
    bundle.args("sleep", "30")
    rt.create(bundle)
    rt.ok("start", bundle.id)
    rt.fails("start", bundle.id)


@pytest.mark.parametrize("code", [0, 3, 42])
def test_run_foreground_returns_exit_code(rt, bundle, code):
    bundle.sh(f"echo out; echo err >&2; exit {code}")
    r = rt.run(bundle)
    assert r.returncode == code, r.stderr
    assert r.stdout == "out\n"
    assert "err" in r.stderr
    # foreground run deletes the container once it exits (runc: unless --keep)
    bundle.assert_nothing_left()


def test_run_detach(rt, bundle):
    bundle.args("sleep", "30")
    with open(bundle.stdout_path, "w") as out, open(bundle.stderr_path, "w") as err:
        r = rt("run", "--detach", "--bundle", bundle.path, bundle.id, stdout=out, stderr=err, timeout=20)
    assert r.returncode == 0, bundle.errors()
    assert rt.status(bundle.id) == "running"
    rt.ok("delete", "--force", bundle.id)
    bundle.assert_nothing_left()


def test_pid_file(rt, bundle, tmp_path):
    bundle.args("sleep", "30")
    pidfile = tmp_path / "container.pid"
    rt.create(bundle, None, "--pid-file", str(pidfile))
    pid = int(pidfile.read_text().strip())
    assert pid == rt.state(bundle.id)["pid"]
    rt.ok("start", bundle.id)
    deadline = time.monotonic() + 5  # start may return before the execve
    while not os.readlink(f"/proc/{pid}/exe").endswith("busybox") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert os.readlink(f"/proc/{pid}/exe").endswith("busybox")


def test_duplicate_id_rejected(rt, bundle, make_bundle):
    bundle.args("sleep", "30")
    rt.create(bundle)
    other = make_bundle()
    other.args("sleep", "30")
    r = rt.create(other, bundle.id, check=False)
    assert r.returncode != 0
    assert bundle.id in r.stderr or "exist" in r.stderr.lower()
    # the first container is untouched
    assert rt.status(bundle.id) == "created"
    assert other.processes_inside() == []


def test_list(rt, bundle, make_bundle):
    bundle.args("sleep", "30")
    second = make_bundle()
    second.args("sleep", "30")
    rt.create(bundle)
    rt.create(second)
    rt.ok("start", second.id)
    table = rt.ok("list").stdout.splitlines()
    assert table[0].split()[:3] == ["ID", "PID", "STATUS"]
    rows = {line.split()[0]: line.split() for line in table[1:]}
    assert rows[bundle.id][2] == "created"
    assert rows[second.id][2] == "running"
    quiet = rt.ok("list", "-q").stdout.split()
    assert sorted(quiet) == sorted([bundle.id, second.id])
    data = json.loads(rt.ok("list", "--format", "json").stdout)
    by_id = {c["id"]: c for c in data}
    assert by_id[bundle.id]["status"] == "created"
    assert by_id[second.id]["status"] == "running"
    assert by_id[second.id]["pid"] == rt.state(second.id)["pid"]
    assert os.path.realpath(by_id[second.id]["bundle"]) == os.path.realpath(second.path)


def test_list_empty(rt):
    r = rt.ok("list", "--format", "json")
    assert json.loads(r.stdout or "null") in (None, [])


def test_ps(rt, bundle):
    bundle.sh("sleep 30 & sleep 31 & wait")
    rt.create(bundle)
    rt.ok("start", bundle.id)
    init = rt.state(bundle.id)["pid"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        pids = json.loads(rt.ok("ps", "--format", "json", bundle.id).stdout)
        if len(pids) >= 3:
            break
        time.sleep(0.05)
    assert init in pids
    assert len(pids) == 3, pids
    assert sorted(pids) == sorted(bundle.processes_inside())
    table = rt.ok("ps", bundle.id).stdout.splitlines()
    assert "PID" in table[0]
    assert len(table) >= 4


@pytest.mark.parametrize("sig", ["TERM", "SIGTERM", "15", "USR1", "SIGKILL", "9"])
def test_kill_signal_forms(rt, bundle, sig):
    # sh as pid 1 ignores signals it has no handler for, so install traps.
    bundle.sh("trap 'echo got-TERM; exit 0' TERM; trap 'echo got-USR1; exit 0' USR1; "
              "echo ready; while :; do sleep 0.05; done")
    rt.create(bundle)
    rt.ok("start", bundle.id)
    _wait_output(bundle, "ready")
    rt.ok("kill", bundle.id, sig)
    rt.wait_status(bundle.id, "stopped")
    num = sig if sig.isdigit() else str(signal.Signals["SIG" + sig.removeprefix("SIG")].value)
    if num == "9":
        assert "got-" not in bundle.output()
    elif num == "15":
        assert "got-TERM" in bundle.output()
    else:
        assert "got-USR1" in bundle.output()


def test_kill_default_is_sigterm(rt, bundle):
    bundle.sh("trap 'echo got-TERM; exit 0' TERM; echo ready; while :; do sleep 0.05; done")
    rt.create(bundle)
    rt.ok("start", bundle.id)
    _wait_output(bundle, "ready")
    rt.ok("kill", bundle.id)
    rt.wait_status(bundle.id, "stopped")
    assert "got-TERM" in bundle.output()


def test_delete_running_without_force_fails(rt, bundle):
    bundle.args("sleep", "30")
    rt.create(bundle)
    rt.ok("start", bundle.id)
    r = rt.fails("delete", bundle.id)
    assert r.stderr.strip()
    assert rt.status(bundle.id) == "running"


def test_delete_force_running(rt, bundle):
    bundle.sh("sleep 30 & sleep 30")
    rt.create(bundle)
    rt.ok("start", bundle.id)
    pid = rt.state(bundle.id)["pid"]
    rt.ok("delete", "--force", bundle.id)
    assert not os.path.exists(f"/proc/{pid}") or _is_zombie_or_gone(pid)
    bundle.assert_nothing_left()


def test_delete_force_created(rt, bundle):
    bundle.args("sleep", "30")
    rt.create(bundle)
    rt.ok("delete", "--force", bundle.id)
    bundle.assert_nothing_left()


def test_delete_created_without_force(rt, bundle):
    """A created (never started) container may be deleted without --force."""
    bundle.args("true")
    rt.create(bundle)
    rt.ok("delete", bundle.id)
    bundle.assert_nothing_left()


def test_state_of_unknown_container_fails(rt):
    r = rt.fails("state", "no-such-container")
    assert r.stderr.strip()


def test_spec_generates_valid_config(rt, tmp_path):
    d = tmp_path / "specdir"
    d.mkdir()
    import subprocess
    r = subprocess.run([rt.path, "spec"], cwd=d, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    c = json.loads((d / "config.json").read_text())
    assert c["ociVersion"].startswith("1.")
    assert c["process"]["args"]
    assert c["root"]["path"] == "rootfs"
    types = {n["type"] for n in c["linux"]["namespaces"]}
    assert {"pid", "network", "ipc", "uts", "mount"} <= types
    # refuses to overwrite an existing config.json
    r = subprocess.run([rt.path, "spec"], cwd=d, capture_output=True, text=True)
    assert r.returncode != 0


def _wait_output(bundle, text, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in bundle.output():
            return
        time.sleep(0.02)
    raise AssertionError(f"{text!r} not in container output: {bundle.output()!r} {bundle.errors()!r}")


def _is_zombie_or_gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True

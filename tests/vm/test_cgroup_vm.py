"""Resource enforcement on a real cgroup v2 hierarchy (run inside the VM by
tests/vm/run-vm-tests.sh; skipped where v2 lacks the controllers).

Containers use a nested cgroupsPath (/swiftlet-vm/<leaf>) so the runtime has
to enable controllers down the path itself; the harness enables nothing.
"""

import os
import subprocess
import time
from pathlib import Path

import pytest

CGROOT = Path("/sys/fs/cgroup")
NEEDED = {"memory", "pids", "cpu", "cpuset", "io"}


def _controllers() -> set[str]:
    try:
        return set((CGROOT / "cgroup.controllers").read_text().split())
    except OSError:
        return set()


pytestmark = pytest.mark.skipif(
    not NEEDED <= _controllers(),
    reason=f"needs cgroup v2 at {CGROOT} with {sorted(NEEDED)} (run tests/vm/run-vm-tests.sh)")

MiB = 1024 * 1024


@pytest.fixture
def cbundle(bundle):
    """A bundle whose cgroup lives at /sys/fs/cgroup/swiftlet-vm/<leaf>."""
    bundle.linux["cgroupsPath"] = f"/swiftlet-vm/{bundle.cgroup_leaf}"
    bundle.cgroup = CGROOT / "swiftlet-vm" / bundle.cgroup_leaf
    bundle.write()
    return bundle


def resources(b, **res):
    r = b.linux.setdefault("resources", {})
    r.update(res)
    b.write()


def start_sleeper(rt, b):
    b.args("sleep", "60")
    rt.create(b)
    rt.ok("start", b.id)
    assert b.cgroup.is_dir(), f"no cgroup at {b.cgroup}"
    return b.cgroup


def read(cg: Path, name: str) -> str:
    return (cg / name).read_text().strip()


def test_container_cgroup_created_and_removed(rt, cbundle):
    cg = start_sleeper(rt, cbundle)
    pid = rt.state(cbundle.id)["pid"]
    assert str(pid) in read(cg, "cgroup.procs").split()
    with open(f"/proc/{pid}/cgroup") as f:
        assert f.read().strip().endswith(f"/swiftlet-vm/{cbundle.cgroup_leaf}")
    rt.ok("delete", "--force", cbundle.id)
    assert not cg.exists()
    cbundle.assert_nothing_left()


def test_memory_max_oom_kills(rt, cbundle):
    resources(cbundle, memory={"limit": 32 * MiB, "swap": 32 * MiB})
    # tail -c N on a pipe keeps N bytes in memory: 150 MB > 32 MiB limit
    cbundle.sh("head -c 150000000 /dev/zero | tail -c 150000000 > /dev/null; echo rc=$?; sleep 60")
    rt.create(cbundle)
    rt.ok("start", cbundle.id)
    cg = cbundle.cgroup
    assert read(cg, "memory.max") == str(32 * MiB)
    deadline = time.monotonic() + 60
    while "rc=" not in cbundle.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "rc=137" in cbundle.output(), cbundle.output() + cbundle.errors()
    events = dict(line.split() for line in read(cg, "memory.events").splitlines())
    assert int(events["oom_kill"]) >= 1, events


def test_memory_allocation_fits_under_a_larger_limit(rt, cbundle):
    """Control for the OOM test: the same allocation passes with room."""
    resources(cbundle, memory={"limit": 512 * MiB})
    cbundle.sh("head -c 150000000 /dev/zero | tail -c 150000000 > /dev/null; echo rc=$?")
    r = rt.run(cbundle, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "rc=0" in r.stdout


def test_memory_swap_and_reservation(rt, cbundle):
    resources(cbundle, memory={"limit": 64 * MiB, "swap": 96 * MiB, "reservation": 16 * MiB})
    cg = start_sleeper(rt, cbundle)
    assert read(cg, "memory.max") == str(64 * MiB)
    # OCI swap is memory+swap; cgroup v2 memory.swap.max is swap alone
    assert read(cg, "memory.swap.max") == str(32 * MiB)
    assert read(cg, "memory.low") == str(16 * MiB)


def test_pids_max_makes_fork_fail(rt, cbundle):
    resources(cbundle, pids={"limit": 8})
    # busybox sh exits when fork fails: fork from a subshell, exec at the end
    cbundle.sh("(for i in $(seq 20); do sleep 30 & done) 2>&1; echo spawned; exec sleep 60")
    rt.create(cbundle)
    rt.ok("start", cbundle.id)
    cg = cbundle.cgroup
    deadline = time.monotonic() + 30
    while "spawned" not in cbundle.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    out = cbundle.output()
    assert "spawned" in out, out
    assert read(cg, "pids.max") == "8"
    assert int(read(cg, "pids.current")) <= 8
    assert "fork" in out.lower() or "resource temporarily unavailable" in out.lower(), out
    events = dict(line.split() for line in read(cg, "pids.events").splitlines())
    assert int(events["max"]) >= 1


def test_cpu_values_land(rt, cbundle):
    resources(cbundle, cpu={"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"})
    cg = start_sleeper(rt, cbundle)
    assert read(cg, "cpu.max") == "50000 100000"
    # runc and crun map shares to weight as 1 + (shares-2)*9999/262142
    assert read(cg, "cpu.weight") == str(1 + ((512 - 2) * 9999) // 262142)
    assert read(cg, "cpuset.cpus") == "0"
    assert read(cg, "cpuset.mems") == "0"


def test_cpu_max_throttles(rt, cbundle):
    resources(cbundle, cpu={"quota": 20000, "period": 100000})
    cbundle.sh("timeout 2 sh -c 'while :; do :; done'; echo done; sleep 60")
    rt.create(cbundle)
    rt.ok("start", cbundle.id)
    deadline = time.monotonic() + 30
    while "done" not in cbundle.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "done" in cbundle.output()
    stat = dict(line.split() for line in read(cbundle.cgroup, "cpu.stat").splitlines())
    assert int(stat["nr_throttled"]) > 0, stat
    # 2 s wall at 20% quota: well under one CPU-second
    assert int(stat["usage_usec"]) < 1_000_000, stat


def test_unified(rt, cbundle):
    resources(cbundle, unified={"memory.high": str(48 * MiB), "cpu.weight": "77", "pids.max": "33"})
    cg = start_sleeper(rt, cbundle)
    assert read(cg, "memory.high") == str(48 * MiB)
    assert read(cg, "cpu.weight") == "77"
    assert read(cg, "pids.max") == "33"


@pytest.fixture
def loopdev(tmp_path):
    img = tmp_path / "disk.img"
    with open(img, "wb") as f:
        f.truncate(16 * MiB)
    dev = subprocess.run(["losetup", "--find", "--show", str(img)], capture_output=True, text=True)
    if dev.returncode != 0:
        pytest.skip(f"no loop device: {dev.stderr}")
    path = dev.stdout.strip()
    st = os.stat(path)
    yield path, os.major(st.st_rdev), os.minor(st.st_rdev)
    subprocess.run(["losetup", "-d", path])


def test_io_values_land(rt, cbundle, loopdev):
    _, major, minor = loopdev
    resources(cbundle, blockIO={
        "weight": 300,
        "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 1048576}],
        "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 100}],
    })
    cg = start_sleeper(rt, cbundle)
    io_max = read(cg, "io.max")
    line = [l for l in io_max.splitlines() if l.startswith(f"{major}:{minor} ")]
    assert line, io_max
    assert "rbps=1048576" in line[0] and "wiops=100" in line[0], line[0]
    if (cg / "io.bfq.weight").exists():
        assert read(cg, "io.bfq.weight").splitlines()[0] == "default 300"
    else:
        w = read(cg, "io.weight").splitlines()[0]
        # runc/crun: weight 10..1000 -> io.weight 1..10000
        assert w in ("default 300", f"default {1 + (300 - 10) * 9999 // 990}"), w


def test_hugetlb_limit(rt, cbundle):
    if not (CGROOT / "cgroup.controllers").read_text().count("hugetlb"):
        pytest.skip("no hugetlb controller")
    resources(cbundle, hugepageLimits=[{"pageSize": "2MB", "limit": 0}])
    cg = start_sleeper(rt, cbundle)
    assert read(cg, "hugetlb.2MB.max") == "0"


def test_delete_force_kills_whole_cgroup(rt, cbundle):
    cbundle.sh("sleep 60 & sleep 61 & (sleep 62 &) ; sleep 63")
    cg = start_sleeper_sh(rt, cbundle)
    deadline = time.monotonic() + 10
    # sleep 60, 61, 62 (reparented) and sh or the sleep 63 it execs
    while len(read(cg, "cgroup.procs").split()) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(read(cg, "cgroup.procs").split()) >= 4
    rt.ok("delete", "--force", cbundle.id)
    assert not cg.exists()
    cbundle.assert_nothing_left()


def start_sleeper_sh(rt, b):
    rt.create(b)
    rt.ok("start", b.id)
    return b.cgroup


def test_cgroup_namespace_sees_own_root(rt, cbundle):
    cbundle.set_namespace("cgroup")
    cbundle.sh("cat /proc/self/cgroup; ls /sys/fs/cgroup | grep -c '^memory.max$'")
    r = rt.run(cbundle)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "0::/"
    assert lines[1] == "1"  # the container's own cgroup files, not the host root's

"""Each namespace isolates; joined namespaces are shared."""

import os
import subprocess
import uuid

import pytest

from ocitest import host_supports_namespace, runtime_features


def ns_inode(pid, ns):
    return os.stat(f"/proc/{pid}/ns/{ns}").st_ino


def start_sleeper(rt, bundle):
    bundle.args("sleep", "30")
    rt.create(bundle)
    rt.ok("start", bundle.id)
    return rt.state(bundle.id)["pid"]


def test_pid_namespace_pid1(rt, bundle):
    bundle.sh("echo $$; readlink /proc/self; ps -o pid,comm | wc -l")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split()
    assert lines[0] == "1"
    assert lines[1] != ""  # pid of readlink, a small number inside the ns
    assert int(lines[1]) < 10
    # header + sh + ps + wc at most: the host's processes are invisible
    assert int(lines[2]) <= 4


def test_uts_hostname_and_domainname(rt, bundle):
    bundle.config["hostname"] = "ctr-host"
    bundle.config["domainname"] = "ctr.example"
    bundle.sh("hostname; cat /proc/sys/kernel/domainname")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    hostname, domainname = r.stdout.split()
    assert hostname == "ctr-host"
    assert os.uname().nodename != "ctr-host"
    if not rt.lacks("domainname"):
        assert domainname == "ctr.example"


@pytest.mark.parametrize("ns", ["net", "ipc", "uts", "mnt", "pid", "cgroup"])
def test_namespace_differs_from_host(rt, bundle, ns):
    bundle.set_namespace("cgroup")
    pid = start_sleeper(rt, bundle)
    assert ns_inode(pid, ns) != ns_inode(os.getpid(), ns)


def test_new_netns_has_only_lo(rt, bundle):
    bundle.sh("ip -o link")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    links = [l.split(":")[1].strip() for l in r.stdout.splitlines() if ": " in l]
    assert links == ["lo"], r.stdout


def test_no_network_namespace_shares_host_netns(rt, bundle):
    bundle.drop_namespace("network")
    pid = start_sleeper(rt, bundle)
    assert ns_inode(pid, "net") == ns_inode(os.getpid(), "net")


@pytest.fixture
def netns():
    name = f"swt-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "add", "swtbr0", "type", "bridge"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)


def test_join_netns_by_path(rt, bundle, netns):
    bundle.set_namespace("network", f"/var/run/netns/{netns}")
    bundle.sh("ip -o link")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert "swtbr0" in r.stdout


def test_two_containers_share_joined_namespaces(rt, bundle, make_bundle):
    """A pod's containers join the sandbox's namespaces by /proc/PID/ns path."""
    sandbox_pid = start_sleeper(rt, bundle)
    other = make_bundle()
    for ns, typ in (("net", "network"), ("ipc", "ipc"), ("uts", "uts")):
        other.set_namespace(typ, f"/proc/{sandbox_pid}/ns/{ns}")
    other.config.pop("hostname", None)
    pid = start_sleeper(rt, other)
    for ns in ("net", "ipc", "uts"):
        assert ns_inode(pid, ns) == ns_inode(sandbox_pid, ns), ns
    assert ns_inode(pid, "pid") != ns_inode(sandbox_pid, "pid")


def test_ipc_namespace_isolated(rt, bundle):
    # a SysV message queue created on the host must not be visible inside
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    qid = libc.msgget(0x5317, 0o1600)  # IPC_CREAT|0600
    assert qid >= 0
    try:
        with open("/proc/sysvipc/msg") as f:
            assert len(f.read().splitlines()) > 1
        bundle.sh("cat /proc/sysvipc/msg | wc -l")
        r = rt.run(bundle)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "1"  # header only
    finally:
        libc.msgctl(qid, 0, None)  # IPC_RMID


def test_cgroup_namespace_root(rt, bundle):
    bundle.set_namespace("cgroup")
    bundle.sh("cat /proc/self/cgroup")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    # inside a cgroup namespace every path is the namespace root
    for line in r.stdout.splitlines():
        assert line.split(":", 2)[2] == "/", r.stdout


def test_mount_namespace_isolated(rt, bundle, tmp_path):
    for cap_set in bundle.process["capabilities"].values():
        cap_set.append("CAP_SYS_ADMIN")
    bundle.sh("mount -t tmpfs none /mnt && touch /mnt/inside && ls /mnt")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["inside"]
    assert not any("/mnt" in line.split()[4] for line in open("/proc/self/mountinfo")
                   if line.split()[4].startswith(str(bundle.rootfs)))


def userns_config(bundle, host_base=100000, size=65536):
    bundle.set_namespace("user")
    bundle.linux["uidMappings"] = [{"containerID": 0, "hostID": host_base, "size": size}]
    bundle.linux["gidMappings"] = [{"containerID": 0, "hostID": host_base, "size": size}]
    # the mapped root must be able to reach the bundle (pytest's basetemp is 0700)
    for parent in bundle.path.parents:
        if str(parent) in ("/", "/tmp"):
            break
        os.chmod(parent, os.stat(parent).st_mode | 0o111)
    # the rootfs must belong to the mapped root
    for dirpath, dirnames, filenames in os.walk(bundle.rootfs):
        os.lchown(dirpath, host_base, host_base)
        for n in dirnames + filenames:
            os.lchown(os.path.join(dirpath, n), host_base, host_base)
    # sysfs cannot be mounted in a user ns without a netns owned by it; the
    # cgroup v1 mount neither: keep the test about the user namespace.
    bundle.config["mounts"] = [m for m in bundle.config["mounts"]
                               if m["type"] not in ("sysfs", "cgroup", "cgroup2")]
    bundle.write()


def test_user_namespace(rt, bundle):
    userns_config(bundle)
    bundle.sh("id -u; id -g; cat /proc/self/uid_map; cat /proc/self/gid_map")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "0"
    assert lines[1] == "0"
    assert lines[2].split() == ["0", "100000", "65536"]
    assert lines[3].split() == ["0", "100000", "65536"]


def test_user_namespace_host_view(rt, bundle):
    userns_config(bundle)
    pid = start_sleeper(rt, bundle)
    with open(f"/proc/{pid}/status") as f:
        status = f.read()
    uid_line = [l for l in status.splitlines() if l.startswith("Uid:")][0]
    assert uid_line.split()[1:] == ["100000"] * 4
    assert ns_inode(pid, "user") != ns_inode(os.getpid(), "user")


def test_time_namespace(rt, bundle):
    if not host_supports_namespace("time"):
        pytest.skip("kernel has no time namespace")
    feats = runtime_features(rt)
    if not rt.is_swiftlet and "time" not in feats.get("linux", {}).get("namespaces", []):
        pytest.skip(f"{rt.name} does not list the time namespace in `features`")
    bundle.set_namespace("time")
    bundle.linux["timeOffsets"] = {"monotonic": {"secs": 86400 * 365, "nanosecs": 0},
                                   "boottime": {"secs": 86400 * 365, "nanosecs": 0}}
    bundle.write()
    bundle.sh("cat /proc/uptime")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    with open("/proc/uptime") as f:
        host_up = float(f.read().split()[0])
    inside = float(r.stdout.split()[0])
    assert inside - host_up > 86400 * 364

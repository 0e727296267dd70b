"""The container process: capabilities, user, umask, cwd, env, rlimits,
no_new_privs, oom_score_adj, terminal."""

import os
import tempfile

import pytest

from console import ConsoleSocket
from ocitest import cap_names, parse_limits, parse_status

STATUS_SETS = {"CapBnd": "bounding", "CapInh": "inheritable", "CapPrm": "permitted",
               "CapEff": "effective", "CapAmb": "ambient"}


def run_status(rt, bundle) -> dict:
    bundle.sh("cat /proc/self/status")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    return parse_status(r.stdout)


def caps_of(status: dict) -> dict[str, set[str]]:
    return {STATUS_SETS[k]: cap_names(int(status[k], 16)) for k in STATUS_SETS}


def test_capabilities_non_root_exact(rt, bundle):
    """For a non-root user the five sets after execve are exactly what the
    runtime set: bounding, inheritable, and permitted=effective=ambient."""
    b = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID", "CAP_AUDIT_WRITE"]
    i = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    a = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]
    bundle.process["capabilities"] = {"bounding": b, "effective": a, "permitted": a + ["CAP_CHOWN"],
                                      "inheritable": i, "ambient": a}
    bundle.process["user"] = {"uid": 1000, "gid": 1000}
    caps = caps_of(run_status(rt, bundle))
    assert caps["bounding"] == set(b)
    assert caps["inheritable"] == set(i)
    assert caps["ambient"] == set(a)
    assert caps["permitted"] == set(a)  # execve keeps only ambient for non-root
    assert caps["effective"] == set(a)


def test_capabilities_root(rt, bundle):
    """For uid 0 execve grants bounding|inheritable; the bounding set is the
    hard limit that must hold exactly."""
    b = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    bundle.process["capabilities"] = {"bounding": b, "effective": b, "permitted": b,
                                      "inheritable": [], "ambient": []}
    bundle.process["noNewPrivileges"] = True
    caps = caps_of(run_status(rt, bundle))
    assert caps["bounding"] == set(b)
    assert caps["permitted"] == set(b)
    assert caps["effective"] == set(b)
    assert caps["inheritable"] == set()
    assert caps["ambient"] == set()


def test_capabilities_empty(rt, bundle):
    bundle.process["capabilities"] = {"bounding": [], "effective": [], "permitted": [],
                                      "inheritable": [], "ambient": []}
    caps = caps_of(run_status(rt, bundle))
    assert all(v == set() for v in caps.values()), caps

def test_ambient_without_inheritable_is_left_out(rt, bundle):
    """`runc spec`'s config lists ambient capabilities but no inheritable ones;
    the kernel cannot raise those, and the container still runs (as with runc
    and crun) with an empty ambient set and its other sets intact."""
    c = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    bundle.process["capabilities"] = {"bounding": c, "effective": c, "permitted": c, "ambient": c}
    caps = caps_of(run_status(rt, bundle))
    assert caps["ambient"] == set()
    assert caps["inheritable"] == set()
    assert caps["bounding"] == set(c)
    assert caps["effective"] == set(c)



def test_dropped_capability_is_enforced(rt, bundle):
    bundle.process["capabilities"] = {k: ["CAP_KILL"] for k in
                                      ("bounding", "effective", "permitted")}
    bundle.sh("touch /tmp/f; chown 1234 /tmp/f 2>&1; echo rc=$?")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert "Operation not permitted" in r.stdout
    assert "rc=1" in r.stdout


def test_kept_capability_works(rt, bundle):
    bundle.process["capabilities"] = {k: ["CAP_CHOWN"] for k in
                                      ("bounding", "effective", "permitted")}
    bundle.sh("touch /tmp/f; chown 1234 /tmp/f && stat -c %u /tmp/f")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1234"


@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privileges(rt, bundle, nnp):
    bundle.process["noNewPrivileges"] = nnp
    st = run_status(rt, bundle)
    assert st["NoNewPrivs"] == ("1" if nnp else "0")


def test_user_uid_gid_additional_gids(rt, bundle):
    bundle.process["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [10, 20, 30]}
    bundle.sh("id -u; id -g; id -G; grep -E '^(Uid|Gid|Groups):' /proc/self/status")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "1000"
    assert lines[1] == "1001"
    assert set(lines[2].split()) >= {"1001", "10", "20", "30"}
    st = parse_status("\n".join(lines[3:]))
    assert st["Uid"].split() == ["1000"] * 4
    assert st["Gid"].split() == ["1001"] * 4
    assert sorted(st["Groups"].split(), key=int) == ["10", "20", "30"]


def test_user_without_additional_gids_has_no_host_groups(rt, bundle):
    bundle.process["user"] = {"uid": 1000, "gid": 1000}
    st = run_status(rt, bundle)
    assert st["Groups"].split() in ([], ["1000"])


def test_umask(rt, bundle):
    bundle.process["user"]["umask"] = 0o027
    bundle.sh("umask; touch /tmp/f; stat -c %a /tmp/f")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["0027", "640"]


def test_cwd(rt, bundle):
    (bundle.rootfs / "work" / "dir").mkdir(parents=True)
    bundle.process["cwd"] = "/work/dir"
    bundle.sh("pwd")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "/work/dir\n"


def test_cwd_created_when_missing(rt, bundle):
    bundle.process["cwd"] = "/not/yet"
    bundle.sh("pwd")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "/not/yet\n"


def test_env(rt, bundle):
    bundle.process["env"] = ["PATH=/bin", "FOO=bar baz", "EMPTY=", "X=1=2"]
    bundle.args("env")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    env = r.stdout.splitlines()
    for e in bundle.process["env"]:
        assert e in env
    assert not any(e.startswith("PYTEST") for e in env)  # the host env does not leak


def test_args_exec_path_lookup(rt, bundle):
    bundle.args("echo", "a b", "c")  # found through PATH, args kept intact
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "a b c\n"


def test_rlimits(rt, bundle):
    bundle.process["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456},
                                 {"type": "RLIMIT_CORE", "soft": 0, "hard": 0},
                                 {"type": "RLIMIT_NPROC", "soft": 1000, "hard": 2000}]
    bundle.sh("cat /proc/self/limits; ulimit -n")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    lim = parse_limits(r.stdout)
    assert lim["Max open files"] == ("123", "456")
    assert lim["Max core file size"] == ("0", "0")
    assert lim["Max processes"] == ("1000", "2000")
    assert r.stdout.splitlines()[-1] == "123"


def test_oom_score_adj_positive(rt, bundle):
    bundle.process["oomScoreAdj"] = 500
    bundle.sh("cat /proc/self/oom_score_adj")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "500"


def can_lower_oom_score() -> bool:
    try:
        with open("/proc/self/oom_score_adj", "r+") as f:
            old = f.read().strip()
            f.seek(0)
            f.write(str(int(old) - 1))
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(old)
        return True
    except OSError:
        return False


def test_oom_score_adj_negative(rt, bundle):
    """Lowering oom_score_adj needs CAP_SYS_RESOURCE, which root on some
    hosts (this CI machine) lacks: then the runtime must fail cleanly."""
    bundle.process["oomScoreAdj"] = -500
    bundle.sh("cat /proc/self/oom_score_adj")
    r = rt.run(bundle)
    if can_lower_oom_score():
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "-500"
    else:
        assert r.returncode != 0
        assert "oom" in r.stderr.lower(), r.stderr  # runc: "/proc/self/oom_score_adj"
        bundle.assert_nothing_left()


def test_oom_score_adj_negative_create(rt, bundle):
    if can_lower_oom_score():
        pytest.skip("this host lets root lower oom_score_adj")
    bundle.process["oomScoreAdj"] = -1
    bundle.write()
    r = rt.create(bundle, check=False)
    assert r.returncode != 0
    assert "oom" in r.stderr.lower(), r.stderr
    bundle.assert_nothing_left()


@pytest.fixture
def console():
    d = tempfile.mkdtemp(prefix="swt-console-")
    c = ConsoleSocket(os.path.join(d, "c.sock"))
    yield c
    c.close()
    os.rmdir(d)


def test_terminal_console_socket(rt, bundle, console):
    bundle.process["terminal"] = True
    bundle.sh("tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-ttys; echo bye")
    rt.create(bundle, None, "--console-socket", console.path)
    master = console.master()
    rt.ok("start", bundle.id)
    out = ConsoleSocket.read_until_closed(master).decode().replace("\r", "")
    lines = out.splitlines()
    assert lines[0].startswith("/dev/pts/") or lines[0] == "/dev/console", out
    assert "all-ttys" in lines
    assert "bye" in lines
    rt.wait_status(bundle.id, "stopped")


def test_terminal_input(rt, bundle, console):
    bundle.process["terminal"] = True
    bundle.sh("read line; echo got:$line")
    rt.create(bundle, None, "--console-socket", console.path)
    master = console.master()
    rt.ok("start", bundle.id)
    os.write(master, b"hello\n")
    out = ConsoleSocket.read_until_closed(master).decode()
    assert "got:hello" in out


def test_console_size(rt, bundle, console):
    bundle.process["terminal"] = True
    bundle.process["consoleSize"] = {"height": 33, "width": 101}
    bundle.sh("stty size")
    rt.create(bundle, None, "--console-socket", console.path)
    master = console.master()
    rt.ok("start", bundle.id)
    out = ConsoleSocket.read_until_closed(master).decode()
    assert "33 101" in out, out


def test_terminal_run_detach(rt, bundle, console):
    bundle.process["terminal"] = True
    bundle.sh("echo detached-tty")
    bundle.write()
    r = rt("run", "--detach", "--console-socket", console.path, "--bundle", bundle.path, bundle.id)
    assert r.returncode == 0, r.stderr
    out = ConsoleSocket.read_until_closed(console.master()).decode()
    assert "detached-tty" in out


def test_terminal_without_console_socket_fails(rt, bundle):
    bundle.process["terminal"] = True
    bundle.args("true")
    r = rt.create(bundle, check=False)
    assert r.returncode != 0
    assert "console" in r.stderr.lower()
    bundle.assert_nothing_left()

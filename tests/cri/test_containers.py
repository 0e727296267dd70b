"""Containers through whole pod lifecycles: multi-container pods sharing a network namespace,
security contexts checked from inside, CRI-format logs, exec, stop signals, exit reasons."""

import re
import sys
import time
from pathlib import Path

import grpc
import pytest

from conftest import IMAGE, STOP_IMAGE

LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (stdout|stderr) (F|P) (.*)$")


def wait_for(predicate, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_two_containers_share_the_pod_network(env, cri, images):
    pb = cri.pb
    cfg = cri.sandbox_config()
    sid = cri.run_pod(cfg)
    server = cri.create(sid, cfg, "server", IMAGE,
                        command=["sh", "-c", "mkdir -p /www && echo hello-from-server > /www/index.html && "
                                             "exec httpd -f -p 8080 -h /www"])
    cri.start(server)
    client = cri.create(sid, cfg, "client", IMAGE, command=["sleep", "60"])
    cri.start(client)
    # Over loopback: the two containers are in one network namespace.
    out = wait_for(lambda: cri.exec_sync(client, ["wget", "-q", "-O", "-", "http://127.0.0.1:8080/"]).stdout)
    assert out.strip() == b"hello-from-server"
    # And the pod's IP answers from the node.
    ip = cri.rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=sid)).status.network.ip
    from crilib import sh
    r = sh("wget", "-q", "-O", "-", f"http://{ip}:8080/", ns=env.ns, check=False) if False else \
        sh("busybox", "wget", "-q", "-O", "-", f"http://{ip}:8080/", ns=env.ns, check=False)
    assert r.stdout.strip() == "hello-from-server"
    listed = cri.rt.ListContainers(pb.ListContainersRequest(filter=pb.ContainerFilter(pod_sandbox_id=sid))).containers
    assert sorted(c.metadata.name for c in listed) == ["client", "server"]
    running = cri.rt.ListContainers(pb.ListContainersRequest(filter=pb.ContainerFilter(
        state=pb.ContainerStateValue(state=pb.CONTAINER_RUNNING)))).containers
    assert {c.id for c in running} >= {server, client}


def test_security_context_seen_from_inside(cri, images):
    pb = cri.pb
    cfg = cri.sandbox_config()
    sid = cri.run_pod(cfg)
    sc = pb.LinuxContainerSecurityContext(
        run_as_user=pb.Int64Value(value=1000), run_as_group=pb.Int64Value(value=3000), supplemental_groups=[4000],
        readonly_rootfs=True, no_new_privs=True,
        capabilities=pb.Capability(drop_capabilities=["ALL"], add_capabilities=["NET_BIND_SERVICE"]),
        seccomp=pb.SecurityProfile(profile_type=pb.SecurityProfile.RuntimeDefault))
    cid = cri.create(sid, cfg, "secure", IMAGE, command=["sleep", "60"],
                     linux=pb.LinuxContainerConfig(security_context=sc))
    cri.start(cid)
    assert cri.exec_sync(cid, ["id", "-u"]).stdout.strip() == b"1000"
    assert cri.exec_sync(cid, ["id", "-g"]).stdout.strip() == b"3000"
    groups = cri.exec_sync(cid, ["id", "-G"]).stdout.split()
    assert b"4000" in groups
    status = cri.exec_sync(cid, ["cat", "/proc/self/status"]).stdout.decode()
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    assert fields["NoNewPrivs"].strip() == "1"
    assert fields["Seccomp"].strip() == "2"
    assert int(fields["CapBnd"], 16) == 1 << 10  # CAP_NET_BIND_SERVICE only
    write = cri.exec_sync(cid, ["touch", "/probe"])
    assert write.exit_code != 0 and b"Read-only file system" in write.stderr
    # Masked paths: /proc/keys (readable and non-empty on the host) reads as empty.
    assert Path("/proc/keys").read_text() != ""
    assert cri.exec_sync(cid, ["sh", "-c", "wc -c < /proc/keys"]).stdout.strip() == b"0"


def test_unconfined_root_default(cri, images):
    cfg = cri.sandbox_config()
    sid = cri.run_pod(cfg)
    cid = cri.create(sid, cfg, "plain", IMAGE, command=["sleep", "60"])
    cri.start(cid)
    status = cri.exec_sync(cid, ["cat", "/proc/self/status"]).stdout.decode()
    assert "Seccomp:\t0" in status
    assert cri.exec_sync(cid, ["id", "-u"]).stdout.strip() == b"0"
    r = cri.exec_sync(cid, ["sh", "-c", "echo out; echo err >&2; exit 7"])
    assert (r.stdout, r.stderr, r.exit_code) == (b"out\n", b"err\n", 7)
    env_out = cri.exec_sync(cid, ["env"]).stdout.decode()
    assert "FROM_IMAGE=yes" in env_out


def test_logs_in_cri_format_and_exit_reasons(env, cri, images):
    pb = cri.pb
    logdir = env.tmp / "logs" / "pod-logs"
    cfg = cri.sandbox_config(log_directory=str(logdir))
    sid = cri.run_pod(cfg)
    script = "echo line1; echo errline >&2; printf 'no-newline'; exit 3"
    cid = cri.create(sid, cfg, "logger", IMAGE, command=["sh", "-c", script], log_path="logger/0.log")
    cri.start(cid)
    st = cri.wait_exited(cid)
    assert st.exit_code == 3 and st.reason == "Error"
    assert st.finished_at >= st.started_at > 0
    assert st.log_path == str(logdir / "logger/0.log")
    lines = Path(st.log_path).read_text().splitlines()
    parsed = [LOG_LINE.match(line).groups() for line in lines]
    assert [(p[1], p[2], p[3]) for p in parsed] == [("stdout", "F", "line1"), ("stderr", "F", "errline"),
                                                     ("stdout", "F", "no-newline")] or \
        sorted((p[1], p[3]) for p in parsed) == [("stderr", "errline"), ("stdout", "line1"), ("stdout", "no-newline")]
    ok = cri.create(sid, cfg, "ok", IMAGE, command=["true"], log_path="ok/0.log")
    cri.start(ok)
    st = cri.wait_exited(ok)
    assert st.exit_code == 0 and st.reason == "Completed"
    # A very long line is split into partial (P) records.
    long = cri.create(sid, cfg, "long", IMAGE, command=["sh", "-c", "head -c 40000 /dev/zero | tr '\\0' a; echo"],
                      log_path="long/0.log")
    cri.start(long)
    st = cri.wait_exited(long)
    tags = [LOG_LINE.match(line).group(3) for line in Path(st.log_path).read_text().splitlines()]
    assert tags[-1] == "F" and "P" in tags


def test_reopen_log_after_rotation(env, cri, images):
    pb = cri.pb
    logdir = env.tmp / "logs" / "rotate"
    cfg = cri.sandbox_config(log_directory=str(logdir))
    sid = cri.run_pod(cfg)
    cid = cri.create(sid, cfg, "ticker", IMAGE, command=["sh", "-c", "while true; do echo tick; sleep 0.1; done"],
                     log_path="t.log")
    cri.start(cid)
    log = logdir / "t.log"
    wait_for(lambda: log.exists() and "tick" in log.read_text())
    log.rename(logdir / "t.log.1")
    cri.rt.ReopenContainerLog(pb.ReopenContainerLogRequest(container_id=cid))
    wait_for(lambda: log.exists() and "tick" in log.read_text())


def test_stop_uses_image_stop_signal_then_kill(cri, images):
    pb = cri.pb
    cfg = cri.sandbox_config()
    sid = cri.run_pod(cfg)
    # Traps USR1 (the image's STOPSIGNAL) and exits 42 on it.
    graceful = cri.create(sid, cfg, "graceful", STOP_IMAGE,
                          command=["sh", "-c", "trap 'exit 42' USR1; while true; do sleep 0.1; done"])
    cri.start(graceful)
    time.sleep(0.3)
    cri.rt.StopContainer(pb.StopContainerRequest(container_id=graceful, timeout=10))
    st = cri.status(graceful)
    assert st.state == pb.CONTAINER_EXITED and st.exit_code == 42
    # Ignores SIGTERM: killed at the timeout.
    stubborn = cri.create(sid, cfg, "stubborn", IMAGE, command=["sh", "-c", "trap '' TERM; while true; do sleep 0.1; done"])
    cri.start(stubborn)
    time.sleep(0.3)
    t0 = time.time()
    cri.rt.StopContainer(pb.StopContainerRequest(container_id=stubborn, timeout=1))
    st = cri.status(stubborn)
    assert st.state == pb.CONTAINER_EXITED and st.exit_code == 137
    assert time.time() - t0 >= 1
    # Stop again and remove twice: idempotent.
    cri.rt.StopContainer(pb.StopContainerRequest(container_id=stubborn, timeout=1))
    cri.rt.RemoveContainer(pb.RemoveContainerRequest(container_id=stubborn))
    cri.rt.RemoveContainer(pb.RemoveContainerRequest(container_id=stubborn))
    with pytest.raises(grpc.RpcError) as err:
        cri.status(stubborn)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_exec_sync_timeout(cri, images):
    pb = cri.pb
    cfg = cri.sandbox_config()
    sid = cri.run_pod(cfg)
    cid = cri.create(sid, cfg, "c", IMAGE, command=["sleep", "60"])
    cri.start(cid)
    with pytest.raises(grpc.RpcError) as err:
        cri.rt.ExecSync(pb.ExecSyncRequest(container_id=cid, cmd=["sleep", "30"], timeout=1), timeout=20)
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_container_events_stream(cri, images):
    pb = cri.pb
    stream = cri.rt.GetContainerEvents(pb.GetEventsRequest())
    time.sleep(0.2)
    cfg = cri.sandbox_config()
    sid = cri.run_pod(cfg)
    cid = cri.create(sid, cfg, "c", IMAGE, command=["true"])
    cri.start(cid)
    seen = []
    for event in stream:
        if event.container_id == cid:
            seen.append(event.container_event_type)
        if pb.CONTAINER_STARTED_EVENT in seen:
            break
    stream.cancel()
    assert seen[:2] == [pb.CONTAINER_CREATED_EVENT, pb.CONTAINER_STARTED_EVENT]


def test_update_resources_and_stats(cri, images):
    pb = cri.pb
    cfg = cri.sandbox_config()
    sid = cri.run_pod(cfg)
    cid = cri.create(sid, cfg, "busy", IMAGE, command=["sh", "-c", "while true; do :; done"])
    cri.start(cid)
    time.sleep(0.5)
    stats = cri.rt.ContainerStats(pb.ContainerStatsRequest(container_id=cid)).stats
    assert stats.attributes.id == cid
    assert stats.cpu.usage_core_nano_seconds.value > 0
    listed = cri.rt.ListContainerStats(pb.ListContainerStatsRequest(filter=pb.ContainerStatsFilter(pod_sandbox_id=sid)))
    assert [s.attributes.id for s in listed.stats] == [cid]
    pod = cri.rt.PodSandboxStats(pb.PodSandboxStatsRequest(pod_sandbox_id=sid)).stats
    assert pod.attributes.id == sid and pod.linux.process.process_count.value >= 2
    # This host's cgroup v2 tree has no controllers and the test daemon runs with
    # cgroup_enforcement false: the update is recorded (and would be written where possible).
    res = pb.LinuxContainerResources(cpu_quota=20000, cpu_period=100000, memory_limit_in_bytes=64 << 20)
    cri.rt.UpdateContainerResources(pb.UpdateContainerResourcesRequest(container_id=cid, linux=res))
    st = cri.status(cid)
    assert st.resources.linux.cpu_quota == 20000 and st.resources.linux.memory_limit_in_bytes == 64 << 20
    bad = pb.LinuxContainerResources(unified={"../escape": "1"})
    with pytest.raises(grpc.RpcError) as err:
        cri.rt.UpdateContainerResources(pb.UpdateContainerResourcesRequest(container_id=cid, linux=bad))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "unified" in err.value.details()
    with pytest.raises(grpc.RpcError) as err:
        cri.rt.UpdateContainerResources(pb.UpdateContainerResourcesRequest(container_id="nope", linux=res))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def run_ws(env, url, stdin=None, resize=None):
    from crilib import sh
    import json as _json
    args = [sys.executable, str(Path(__file__).parent / "wsexec.py"), url]
    if stdin is not None or resize:
        args.append(stdin if stdin is not None else "-")
    if resize:
        args.append(resize)
    out = sh(*args, ns=env.ns, check=False, timeout=60)
    assert out.returncode == 0, out.stderr
    return _json.loads(out.stdout)


def test_exec_streaming_websocket(env, cri, images):
    pb = cri.pb
    cfg = cri.sandbox_config()
    sid = cri.run_pod(cfg)
    cid = cri.create(sid, cfg, "c", IMAGE, command=["sleep", "60"])
    cri.start(cid)
    url = cri.rt.Exec(pb.ExecRequest(container_id=cid, cmd=["sh", "-c", "echo out; echo err >&2"], stdout=True,
                                     stderr=True)).url
    assert url.startswith("http://127.0.0.1:") and "/exec/" in url
    r = run_ws(env, url)
    assert r["protocol"] == "v5.channel.k8s.io"
    assert (r["stdout"], r["stderr"], r["status"]["status"]) == ("out\n", "err\n", "Success")
    # The token is single use.
    assert " 101 " not in run_ws(env, url)["http"]
    # stdin reaches the process; a non-zero exit comes back in the status.
    url = cri.rt.Exec(pb.ExecRequest(container_id=cid, cmd=["sh", "-c", "tr a-z A-Z; exit 4"], stdin=True,
                                     stdout=True)).url
    r = run_ws(env, url, stdin="hello")
    assert r["stdout"] == "HELLO"
    assert r["status"]["reason"] == "NonZeroExitCode"
    assert r["status"]["details"]["causes"][0]["message"] == "4"
    with pytest.raises(grpc.RpcError) as err:
        cri.rt.Exec(pb.ExecRequest(container_id=cid, cmd=[], stdout=True))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "cmd" in err.value.details()


def test_exec_streaming_with_tty_and_resize(env, cri, images):
    pb = cri.pb
    cfg = cri.sandbox_config()
    sid = cri.run_pod(cfg)
    cid = cri.create(sid, cfg, "c", IMAGE, command=["sleep", "60"])
    cri.start(cid)
    url = cri.rt.Exec(pb.ExecRequest(container_id=cid, tty=True, stdout=True, cmd=[
        "sh", "-c", "sleep 0.5; stty size; test -t 0 && echo stdin-is-a-tty; exit 2"])).url
    r = run_ws(env, url, resize="100x40")
    lines = r["stdout"].replace("\r", "").splitlines()
    assert lines == ["40 100", "stdin-is-a-tty"]
    assert r["stderr"] == ""
    assert r["status"]["details"]["causes"][0]["message"] == "2"
    # Interactive: what is typed reaches the shell through the terminal.
    url = cri.rt.Exec(pb.ExecRequest(container_id=cid, tty=True, stdin=True, stdout=True, cmd=["sh"])).url
    r = run_ws(env, url, stdin="echo typed-$((6*7))\nexit\n")
    assert "typed-42" in r["stdout"]
    assert r["status"]["status"] == "Success"


def test_port_forward_websocket(env, cri, images):
    from crilib import sh
    import json as _json
    pb = cri.pb
    cfg = cri.sandbox_config()
    sid = cri.run_pod(cfg)
    cid = cri.create(sid, cfg, "web", IMAGE, command=["sh", "-c", "mkdir -p /w && echo forwarded > /w/index.html && "
                                                                   "exec httpd -f -p 8080 -h /w"])
    cri.start(cid)
    time.sleep(0.3)
    url = cri.rt.PortForward(pb.PortForwardRequest(pod_sandbox_id=sid, port=[8080])).url
    assert "/portforward/" in url

    def forward(url, payload):
        out = sh(sys.executable, str(Path(__file__).parent / "wsforward.py"), url, payload, ns=env.ns, check=False,
                 timeout=60)
        assert out.returncode == 0, out.stderr
        return _json.loads(out.stdout)

    r = forward(url, "GET / HTTP/1.0\r\n\r\n")
    assert r["headers"][:2] == [[0, 8080], [1, 8080]]
    assert "200 OK" in r["data"] and "forwarded" in r["data"]
    # A port nobody listens on: the error channel says so.
    url = cri.rt.PortForward(pb.PortForwardRequest(pod_sandbox_id=sid, port=[9999])).url
    r = forward(url, "x")
    assert "127.0.0.1:9999" in r["error"] and r["data"] == ""
    with pytest.raises(grpc.RpcError) as err:
        cri.rt.PortForward(pb.PortForwardRequest(pod_sandbox_id=sid, port=[70000]))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "port[0]" in err.value.details()


def test_attach_websocket_stdin_and_output(env, cri, images):
    pb = cri.pb
    cfg = cri.sandbox_config()
    sid = cri.run_pod(cfg)
    cid = cri.create(sid, cfg, "echo", IMAGE, command=["sh", "-c", "while read line; do echo got:$line; done; echo done"],
                     stdin=True, stdin_once=True)
    cri.start(cid)
    url = cri.rt.Attach(pb.AttachRequest(container_id=cid, stdin=True, stdout=True, stderr=True)).url
    assert "/attach/" in url
    # Sends the line, then closes stdin (v5 channel 255): the loop ends, the container exits.
    r = run_ws(env, url, stdin="hello\n")
    assert r["stdout"] == "got:hello\ndone\n"
    assert r["status"]["status"] == "Success"
    st = cri.wait_exited(cid)
    assert st.exit_code == 0
    other = cri.create(sid, cfg, "nostdin", IMAGE, command=["sleep", "60"])
    cri.start(other)
    with pytest.raises(grpc.RpcError) as err:
        cri.rt.Attach(pb.AttachRequest(container_id=other, stdin=True, stdout=True))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "stdin" in err.value.details()


def test_negative_oom_score_adj_is_clamped_when_configured(env, cri, images):
    """This host's root lacks CAP_SYS_RESOURCE; the test daemon sets restrict_oom_score_adj."""
    import subprocess
    lowered = subprocess.run(["sh", "-c", "echo -1 > /proc/self/oom_score_adj"], capture_output=True).returncode == 0
    if lowered:
        pytest.skip("root may lower oom_score_adj here: nothing to clamp")
    daemon_value = int(Path(f"/proc/{env.daemon.pid}/oom_score_adj").read_text())
    pb = cri.pb
    cfg = cri.sandbox_config()
    sid = cri.run_pod(cfg)
    res = pb.LinuxContainerResources(oom_score_adj=-998)
    cid = cri.create(sid, cfg, "c", IMAGE, command=["sleep", "60"], linux=pb.LinuxContainerConfig(resources=res))
    cri.start(cid)
    value = int(cri.exec_sync(cid, ["cat", "/proc/self/oom_score_adj"]).stdout)
    assert value == daemon_value
    assert cri.status(cid).state == pb.CONTAINER_RUNNING

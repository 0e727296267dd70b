"""Exec, attach and port-forward over SPDY/3.1, driven by a real client: tests/cri/spdyclient,
built here from Go on moby/spdystream (the library client-go, kubectl and crictl use), the way
client-go speaks it (X-Stream-Protocol-Version negotiation, one stream per streamType, the v4
status JSON on the error stream, resize messages, half-closed stdin, error/data stream pairs
with requestID for port-forward). The same URLs still take WebSocket clients."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import IMAGE
from crilib import sh

HERE = Path(__file__).parent
GOPATH = "/usr/share/gocode"


@pytest.fixture(scope="session")
def spdyclient():
    """The Go client, built into a temp dir (no network: GOPATH mode on Debian's packages)."""
    if not shutil.which("go") or not Path(GOPATH, "src/github.com/moby/spdystream").is_dir():
        pytest.skip("needs golang-go and golang-github-docker-spdystream-dev (scripts/setup.sh)")
    out = Path(tempfile.mkdtemp(prefix="spdyclient-"))
    try:
        env = dict(os.environ, GOPATH=GOPATH, GO111MODULE="off", GOCACHE=str(out / "cache"), GOFLAGS="")
        r = subprocess.run(["go", "build", "-o", str(out / "spdyclient"), "."], cwd=HERE / "spdyclient", env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        yield out / "spdyclient"
    finally:
        shutil.rmtree(out, ignore_errors=True)


def run(env, client, *args):
    out = sh(client, *args, ns=env.ns, check=False, timeout=90)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def run_ws(env, url, stdin=None):
    args = [sys.executable, str(HERE / "wsexec.py"), url] + ([stdin] if stdin is not None else [])
    out = sh(*args, ns=env.ns, check=False, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture
def pod(cri, images):
    cfg = cri.sandbox_config()
    sid = cri.run_pod(cfg)
    cid = cri.create(sid, cfg, "c", IMAGE, command=["sleep", "120"])
    cri.start(cid)
    return sid, cid, cfg


def exec_url(cri, cid, cmd, **kw):
    return cri.rt.Exec(cri.pb.ExecRequest(container_id=cid, cmd=cmd, **kw)).url


def test_exec_over_spdy_output_status_and_exit_code(env, cri, pod, spdyclient):
    _, cid, _ = pod
    url = exec_url(cri, cid, ["sh", "-c", "echo out; echo err >&2"], stdout=True, stderr=True)
    r = run(env, spdyclient, "exec", url)
    assert r["protocol"] == "v4.channel.k8s.io"
    assert (r["stdout"], r["stderr"]) == ("out\n", "err\n")
    assert json.loads(r["error"]) == {"metadata": {}, "status": "Success"}
    # Non-zero exit: the v4 Status names the code the way kubectl reads it.
    url = exec_url(cri, cid, ["sh", "-c", "echo bye; exit 7"], stdout=True, stderr=True)
    r = run(env, spdyclient, "exec", url)
    status = json.loads(r["error"])
    assert r["stdout"] == "bye\n"
    assert status["status"] == "Failure" and status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "7"}]
    # The token was used: a second upgrade is refused with 404.
    r = run(env, spdyclient, "exec", url)
    assert r["status_code"] == 404


def test_exec_over_spdy_stdin_half_close(env, cri, pod, spdyclient):
    _, cid, _ = pod
    # The command reads until EOF: it ends only if the client's half-close of stdin arrives.
    url = exec_url(cri, cid, ["sh", "-c", "tr a-z A-Z; echo eof-seen >&2"], stdin=True, stdout=True, stderr=True)
    r = run(env, spdyclient, "exec", url, "-stdin", "hello spdy\n")
    assert r["stdout"] == "HELLO SPDY\n"
    assert r["stderr"] == "eof-seen\n"
    assert json.loads(r["error"])["status"] == "Success"


def test_exec_over_spdy_tty_and_resize(env, cri, pod, spdyclient):
    _, cid, _ = pod
    url = exec_url(cri, cid, ["sh", "-c", "sleep 0.5; stty size; test -t 0 && echo stdin-is-a-tty; exit 3"],
                   tty=True, stdout=True, stderr=True)
    r = run(env, spdyclient, "exec", url, "-tty", "-resize", "120x33")
    assert r["stdout"].replace("\r", "").splitlines() == ["33 120", "stdin-is-a-tty"]
    assert r["stderr"] == ""
    assert json.loads(r["error"])["details"]["causes"][0]["message"] == "3"
    # Interactive shell: typed input reaches it through the terminal.
    url = exec_url(cri, cid, ["sh"], tty=True, stdin=True, stdout=True)
    r = run(env, spdyclient, "exec", url, "-tty", "-stdin", "echo typed-$((6*7))\nexit 0\n")
    assert "typed-42" in r["stdout"]
    assert json.loads(r["error"])["status"] == "Success"


def test_exec_over_older_protocol_versions(env, cri, pod, spdyclient):
    _, cid, _ = pod
    # v3 and v1 write only a failure's message on the error stream, as plain text.
    for offered in ("v3.channel.k8s.io", "channel.k8s.io"):
        url = exec_url(cri, cid, ["sh", "-c", "echo v; exit 5"], stdout=True, stderr=True)
        r = run(env, spdyclient, "exec", url, "-protocols", offered)
        assert r["protocol"] == offered
        assert r["stdout"] == "v\n"
        assert r["error"] == "command terminated with non-zero exit code: exit status 5"
    url = exec_url(cri, cid, ["true"], stdout=True)
    r = run(env, spdyclient, "exec", url, "-protocols", "v3.channel.k8s.io")
    assert r["error"] == ""
    # No version in common: 403 listing what the server accepts (the token stays usable).
    url = exec_url(cri, cid, ["true"], stdout=True)
    r = run(env, spdyclient, "exec", url, "-protocols", "v9.channel.k8s.io")
    assert r["status_code"] == 403
    assert "v4.channel.k8s.io" in r["accepted"] and "unable to negotiate protocol" in r["body"]
    r = run(env, spdyclient, "exec", url, "-method", "GET")
    assert r["error"] == json.dumps({"metadata": {}, "status": "Success"}, separators=(",", ":"))


def test_attach_over_spdy(env, cri, images, spdyclient):
    cfg = cri.sandbox_config()
    sid = cri.run_pod(cfg)
    cid = cri.create(sid, cfg, "echo", IMAGE, command=["sh", "-c", "while read line; do echo got:$line; done; echo done"],
                     stdin=True, stdin_once=True)
    cri.start(cid)
    url = cri.rt.Attach(cri.pb.AttachRequest(container_id=cid, stdin=True, stdout=True, stderr=True)).url
    r = run(env, spdyclient, "exec", url, "-stdin", "over-spdy\n")
    assert r["stdout"] == "got:over-spdy\ndone\n"
    assert json.loads(r["error"])["status"] == "Success"
    assert cri.wait_exited(cid).exit_code == 0


def test_port_forward_over_spdy(env, cri, images, spdyclient):
    cfg = cri.sandbox_config()
    sid = cri.run_pod(cfg)
    cid = cri.create(sid, cfg, "web", IMAGE, command=["sh", "-c", "mkdir -p /w && echo forwarded > /w/index.html && "
                                                                   "exec httpd -f -p 8080 -h /w"])
    cri.start(cid)
    time.sleep(0.3)
    # Kubernetes' SPDY port-forward names the port per stream; the request may list none.
    url = cri.rt.PortForward(cri.pb.PortForwardRequest(pod_sandbox_id=sid)).url
    r = run(env, spdyclient, "forward", url, "8080", "-send", "GET / HTTP/1.0\r\n\r\n", "-count", "3")
    assert r["protocol"] == "portforward.k8s.io"
    assert len(r["replies"]) == 3
    for reply in r["replies"]:
        assert "200 OK" in reply["data"] and "forwarded" in reply["data"]
        assert reply["error"] == ""
    # Nobody listens on 9999: the error stream says so, the data stream just ends.
    url = cri.rt.PortForward(cri.pb.PortForwardRequest(pod_sandbox_id=sid)).url
    r = run(env, spdyclient, "forward", url, "9999", "-send", "x")
    assert r["replies"][0]["data"] == ""
    assert "127.0.0.1:9999" in r["replies"][0]["error"]
    # A request that named its ports refuses others on the error stream.
    url = cri.rt.PortForward(cri.pb.PortForwardRequest(pod_sandbox_id=sid, port=[8080])).url
    r = run(env, spdyclient, "forward", url, "8081", "-send", "x")
    assert "8081" in r["replies"][0]["error"] and "not one of the ports" in r["replies"][0]["error"]
    # No helper process is left behind.
    assert not [p for p in env.our_processes() if b"--forward" in Path(f"/proc/{p}/cmdline").read_bytes()]


def test_websocket_still_works_on_the_same_urls(env, cri, pod, spdyclient):
    _, cid, _ = pod
    url = exec_url(cri, cid, ["sh", "-c", "echo ws"], stdout=True)
    r = run_ws(env, url)
    assert r["protocol"] == "v5.channel.k8s.io" and r["stdout"] == "ws\n"
    # And a plain GET on a live token says what it needs.
    url = exec_url(cri, cid, ["true"], stdout=True)
    probe = sh("python3", "-c", f"import urllib.request,sys\ntry:\n urllib.request.urlopen({url!r})\n"
               "except Exception as e:\n print(e.code, e.read().decode())", ns=env.ns, check=False, timeout=30)
    assert probe.stdout.startswith("400") and "SPDY/3.1 or WebSocket" in probe.stdout


def test_large_output_arrives_whole_over_spdy(env, cri, pod, spdyclient):
    _, cid, _ = pod
    # About 2 MB in frames of at most 32 KiB, the reader waiting on the socket as it goes.
    url = exec_url(cri, cid, ["seq", "1", "300000"], stdout=True, stderr=True)
    r = run(env, spdyclient, "exec", url)
    lines = r["stdout"].splitlines()
    assert len(lines) == 300000 and lines[0] == "1" and lines[-1] == "300000"
    assert json.loads(r["error"])["status"] == "Success"

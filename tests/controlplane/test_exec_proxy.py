"""kubectl exec / attach / port-forward / logs through our apiserver to kubeletd's secure API and
on to the runtime's streaming server (swiftlet-cri's, then containerd's), all real:
`swiftlet-control-plane init` into a temp dir, the apiserver, the runtime and kubeletd (secure
port, init's CA as clientCAFile) in one throwaway netns. The kubelet does not register itself yet (cluster mode is a later issue), so the test
creates the Node object (address + daemonEndpoints of the kubelet) and the static pod's mirror
pod with kubectl, then uses kubectl as a user would."""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import apiserver_argv

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "kubelet"))
import kubeletlib  # noqa: E402
from kubeletlib import bin_dir, free_port  # noqa: E402

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (netns, mounts, containers)"),
    pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI"),
]

POD = "shell"
MANIFEST = """apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: default}}
spec:
  containers:
  - name: main
    image: {image}
    command: ["sh", "-c", "echo started-main; mkdir -p /www; echo hello-from-pod > /www/index.html; head -c 16000000 /dev/urandom > /www/big; exec httpd -f -p 8080 -h /www"]
  - name: ticker
    image: {image}
    command: ["sh", "-c", "i=0; while true; do echo tick-$i; i=$((i+1)); sleep 0.3; done"]
"""


class Cluster:
    def __init__(self, runtime="swiftlet-cri"):
        self.node = kubeletlib.Node(runtime=runtime)
        self.cp = self.node.tmp / "cp"
        self.api_port = 6443  # our own netns: every port is free
        self.kubelet_port = 10250

    def start(self):
        n = self.node
        subprocess.run([bin_dir() / "swiftlet-control-plane", "init", "--root-dir", self.cp, "--node-name", n.node_name,
                        "--secure-port", str(self.api_port)], check=True, capture_output=True, stdin=subprocess.DEVNULL)
        self.pki = self.cp / "etc/kubernetes/pki"
        self.admin = self.cp / "etc/kubernetes/admin.conf"
        self.token = "exec-test-" + os.urandom(8).hex()
        (self.pki / "tokens.csv").write_text(f'{self.token},jane,1001,"developers"\n')
        p = self.pki
        n.spawn("apiserver", apiserver_argv(bin_dir() / "swiftlet-control-plane", f"sqlite://{self.cp}/state.db", p, self.api_port))
        self.wait(lambda: self.kubectl("get", "--raw", "/readyz", check=False).stdout == "ok", 30, "apiserver ready", "apiserver")
        n.start_runtime()
        # The kubelet's serving certificate from the cluster CA (tlsCertFile), so the apiserver
        # verifies the kubelet too (--kubelet-certificate-authority).
        crt, key = self.kubelet_serving_certificate()
        n.start_kubelet(port=self.kubelet_port, tlsCertFile=str(crt), tlsPrivateKeyFile=str(key),
                        authentication={"x509": {"clientCAFile": str(self.pki / "ca.crt")}})
        # The Node object (the kubelet does not register itself yet) and the static pod's mirror.
        self.kubectl("create", "-f", "-", input=json.dumps({
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": n.node_name}}))
        self.kubectl("patch", "node", n.node_name, "--subresource=status", "--type=merge", "-p", json.dumps({"status": {
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": n.node_name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.kubelet_port}}}}))
        n.write_manifest(f"{POD}.yaml", MANIFEST.format(name=POD, image=n.image))
        self.pod = f"{POD}-{n.node_name}"

        def running():
            p = n.pods().get(self.pod)
            return p and all("running" in (c.get("state") or {}) for c in p["status"].get("containerStatuses", [])) \
                and len(p["status"].get("containerStatuses", [])) == 2
        n.wait_for(running, timeout=90, what="the static pod running")
        mirror = {"apiVersion": "v1", "kind": "Pod",
                  "metadata": {"name": self.pod, "namespace": "default",
                               "annotations": {"kubernetes.io/config.mirror": "test"}},
                  "spec": {"nodeName": n.node_name,
                           "containers": [{"name": "main", "image": n.image}, {"name": "ticker", "image": n.image}]}}
        self.kubectl("create", "-f", "-", input=json.dumps(mirror))
        # What the kubelet would report in cluster mode (kubectl port-forward checks the phase).
        self.kubectl("patch", "pod", self.pod, "--subresource=status", "--type=merge", "-p",
                     json.dumps({"status": {"phase": "Running"}}))
        return self

    def kubelet_serving_certificate(self):
        d = self.node.tmp / "kubelet-pki"
        d.mkdir()
        key, csr, crt, ext = d / "kubelet.key", d / "kubelet.csr", d / "kubelet.crt", d / "ext"
        ext.write_text(f"subjectAltName=IP:127.0.0.1,DNS:{self.node.node_name}\nextendedKeyUsage=serverAuth\n")
        for argv in (["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key],
                     ["req", "-new", "-key", key, "-subj", f"/CN={self.node.node_name}", "-out", csr],
                     ["x509", "-req", "-in", csr, "-CA", self.pki / "ca.crt", "-CAkey", self.pki / "ca.key", "-CAcreateserial",
                      "-CAserial", d / "ca.srl", "-days", "1", "-extfile", ext, "-out", crt]):
            subprocess.run(["openssl", *map(str, argv)], check=True, capture_output=True)
        return crt, key

    def wait(self, predicate, timeout, what, proc):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if predicate():
                    return
            except subprocess.SubprocessError:
                pass
            if self.node.procs[proc].poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}:\n{self.node.log(proc)[-3000:]}")

    def kubectl_argv(self, *args, kubeconfig=None):
        return self.node.enter(["kubectl", "--kubeconfig", str(kubeconfig or self.admin), *args])

    def kubectl(self, *args, check=True, input=None, timeout=60, kubeconfig=None, env=None):
        r = subprocess.run(self.kubectl_argv(*args, kubeconfig=kubeconfig), capture_output=True, text=True, input=input,
                           timeout=timeout, stdin=None if input is not None else subprocess.DEVNULL,
                           env={**os.environ, **(env or {})})
        if check and r.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({r.returncode}): {r.stderr}\n"
                                 f"apiserver:\n{self.node.log('apiserver')[-2000:]}\nkubeletd:\n{self.node.log('kubeletd')[-2000:]}")
        return r

    def cleanup(self):
        self.node.stop("apiserver")
        self.node.cleanup()


@pytest.fixture(scope="module", params=kubeletlib.RUNTIMES)
def cluster(request):
    """The same node over swiftlet-cri and over containerd (whose streaming server is upstream's)."""
    if not kubeletlib.runtime_available(request.param):
        pytest.skip(f"{request.param} is not available")
    c = Cluster(request.param)
    try:
        yield c.start()
    finally:
        c.cleanup()


def stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    return proc.communicate(timeout=10)


def test_exec_prints_output_and_returns_the_exit_code(cluster):
    r = cluster.kubectl("exec", cluster.pod, "-c", "main", "--", "echo", "hi")
    assert r.stdout == "hi\n"
    r = cluster.kubectl("exec", cluster.pod, "-c", "main", "--", "sh", "-c", "echo to-stderr >&2; exit 3", check=False)
    assert r.returncode == 3, r.stderr
    assert "to-stderr" in r.stderr
    # The default container (the first) when -c is left out, with arguments holding spaces.
    r = cluster.kubectl("exec", cluster.pod, "--", "sh", "-c", "echo a  b; cat /www/index.html")
    assert r.stdout == "a b\nhello-from-pod\n"


def test_exec_over_spdy(cluster):
    """kubectl 1.32 speaks WebSocket (v5.channel.k8s.io) first, which goes through to the runtime's
    streaming server; with WebSockets off it uses SPDY/3.1, which must work as well (older
    clients, and kubectl's fallback)."""
    spdy = {"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"}
    r = cluster.kubectl("-v=8", "exec", "-i", cluster.pod, "-c", "main", "--", "sh", "-c", "cat; exit 4", check=False,
                        input="over spdy\n", env=spdy)
    assert r.returncode == 4, r.stderr
    assert r.stdout == "over spdy\n"
    assert "Upgrade: SPDY/3.1" in r.stderr and "Upgrade: websocket" not in r.stderr, r.stderr


def test_exec_with_stdin(cluster):
    r = cluster.kubectl("exec", "-i", cluster.pod, "-c", "main", "--", "sh", "-c", "tr a-z A-Z; echo done",
                        input="hello stdin\nsecond line\n")
    assert r.stdout == "HELLO STDIN\nSECOND LINE\ndone\n"


def test_exec_with_a_tty(cluster):
    master, slave = os.openpty()
    proc = subprocess.Popen(cluster.kubectl_argv("exec", "-it", cluster.pod, "-c", "main", "--", "sh", "-c",
                                                 "tty; stty size; echo tty-done"),
                            stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    out = b""
    deadline = time.time() + 30
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: kubectl closed the terminal
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    code = proc.wait()
    text = out.decode(errors="replace")
    assert code == 0, text
    assert "/dev/pts/" in text and "tty-done" in text, text


def test_attach_streams_the_container_output(cluster):
    proc = subprocess.Popen(cluster.kubectl_argv("attach", cluster.pod, "-c", "ticker"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True)
    seen = []
    try:
        deadline = time.time() + 30
        while time.time() < deadline and len(seen) < 3:
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if ready:
                line = proc.stdout.readline().decode()
                if not line:
                    break
                if line.startswith("tick-"):
                    seen.append(int(line.strip().split("-")[1]))
    finally:
        _, err = stop(proc)
    assert len(seen) == 3, f"attach output: {seen}; stderr: {err.decode()}"
    assert seen == sorted(seen) and seen[2] - seen[0] == 2  # live, in order


def test_port_forward_to_a_server_in_the_pod(cluster):
    local = free_port()
    proc = subprocess.Popen(cluster.kubectl_argv("port-forward", f"pod/{cluster.pod}", f"{local}:8080"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        line = ""
        deadline = time.time() + 30
        while time.time() < deadline and "Forwarding from" not in line:
            ready, _, _ = select.select([proc.stdout], [], [], 0.5)
            if ready:
                line = proc.stdout.readline().decode()
                if not line:
                    break
        assert "Forwarding from" in line, (line, proc.poll() is not None and proc.stderr.read().decode())
        for _ in range(2):  # two connections over one forward
            r = cluster.node.netns_exec(["curl", "-sS", "--max-time", "10", f"http://127.0.0.1:{local}/"])
            assert r.stdout == "hello-from-pod\n"
        # 16 MB through both splices (apiserver and kubelet) arrives whole.
        want = cluster.kubectl("exec", cluster.pod, "-c", "main", "--", "sha256sum", "/www/big").stdout.split()[0]
        r = subprocess.run(cluster.node.enter(["sh", "-c", f"curl -sS --max-time 60 http://127.0.0.1:{local}/big | sha256sum"]),
                           capture_output=True, text=True, check=True)
        assert r.stdout.split()[0] == want
    finally:
        stop(proc)


def test_logs_through_the_kubelet(cluster):
    r = cluster.kubectl("logs", cluster.pod, "-c", "main")
    # (swiftlet-runc's warning about this host's controller-less cgroup v2 tree may come first)
    assert r.stdout.splitlines()[-1:] == ["started-main"], r.stdout


def test_user_without_rbac_rights_gets_403(cluster):
    jane = cluster.node.tmp / "jane.conf"
    jane.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "jane",
        "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{cluster.api_port}",
                                               "certificate-authority": str(cluster.pki / "ca.crt")}}],
        "users": [{"name": "jane", "user": {"token": cluster.token}}],
        "contexts": [{"name": "jane", "context": {"cluster": "c", "user": "jane", "namespace": "default"}}]}))
    # kubectl reads the pod first: without even that, 403 on pods.
    r = cluster.kubectl("exec", cluster.pod, "-c", "main", "--", "echo", "hi", check=False, kubeconfig=jane)
    assert r.returncode != 0 and "hi" not in r.stdout
    assert "forbidden" in r.stderr.lower(), r.stderr
    # Reading pods is not exec: 403 on pods/exec.
    cluster.kubectl("create", "role", "pod-reader", "--verb=get,list", "--resource=pods")
    cluster.kubectl("create", "rolebinding", "jane-pod-reader", "--role=pod-reader", "--user=jane")
    r = cluster.kubectl("exec", cluster.pod, "-c", "main", "--", "echo", "hi", check=False, kubeconfig=jane)
    assert r.returncode != 0 and "hi" not in r.stdout
    assert "forbidden" in r.stderr.lower() and "pods/exec" in r.stderr, r.stderr
    # `get` on pods/exec is not enough: exec needs `create` (upstream 1.32 checks create for the
    # WebSocket GET as well).
    cluster.kubectl("create", "role", "exec-get", "--verb=get", "--resource=pods/exec")
    cluster.kubectl("create", "rolebinding", "jane-exec-get", "--role=exec-get", "--user=jane")
    r = cluster.kubectl("exec", cluster.pod, "-c", "main", "--", "echo", "hi", check=False, kubeconfig=jane)
    assert r.returncode != 0 and "hi" not in r.stdout, r.stdout
    assert "forbidden" in r.stderr.lower() and "create" in r.stderr, r.stderr
    cluster.kubectl("create", "role", "exec-create", "--verb=create", "--resource=pods/exec")
    cluster.kubectl("create", "rolebinding", "jane-exec-create", "--role=exec-create", "--user=jane")
    r = cluster.kubectl("exec", cluster.pod, "-c", "main", "--", "echo", "hi", kubeconfig=jane)
    assert r.stdout == "hi\n"


def test_exec_errors(cluster):
    r = cluster.kubectl("exec", cluster.pod, "-c", "nope", "--", "true", check=False)
    assert r.returncode != 0 and "container nope is not valid" in r.stderr, r.stderr
    r = cluster.kubectl("exec", "no-such-pod", "--", "true", check=False)
    assert r.returncode != 0 and "not found" in r.stderr, r.stderr
    # The command does not exist in the container: a non-zero exit, the apiserver keeps serving.
    r = cluster.kubectl("exec", cluster.pod, "-c", "main", "--", "/no/such/binary", check=False)
    assert r.returncode != 0
    assert cluster.kubectl("exec", cluster.pod, "-c", "main", "--", "echo", "still-ok").stdout == "still-ok\n"


def test_servers_survive_accept_failures(cluster):
    """Accept failing with EMFILE (the process is out of descriptors) must not end the apiserver's
    or the kubelet's listener: each logs it and serves again once descriptors are free."""
    n = cluster.node
    for name, port in (("apiserver", cluster.api_port), ("kubeletd", cluster.kubelet_port)):
        pid = n.procs[name].pid
        old = subprocess.run(["prlimit", f"--pid={pid}", "--nofile", "--raw", "--noheadings", "--output=SOFT,HARD"],
                             capture_output=True, text=True, check=True).stdout.split()
        limit = len(os.listdir(f"/proc/{pid}/fd")) + 4
        subprocess.run(["prlimit", f"--pid={pid}", f"--nofile={limit}:{old[1]}"], check=True)
        try:
            # 40 connections held open from inside the netns: the process runs out of descriptors.
            subprocess.run(n.enter([sys.executable, "-c",
                                    "import socket, time\n"
                                    f"s = [socket.create_connection(('127.0.0.1', {port}), timeout=5) for _ in range(40)]\n"
                                    "time.sleep(2)\n"]), check=True, timeout=60)
        finally:
            subprocess.run(["prlimit", f"--pid={pid}", f"--nofile={old[0]}:{old[1]}"], check=True)
        assert n.procs[name].poll() is None, f"{name} exited:\n{n.log(name)[-2000:]}"
        log = n.log(name)
        assert "accept failed; still listening" in log, log[-2000:]
        # Accepting backs off and the failure is logged at most once a second (no busy loop
        # writing tens of thousands of lines, which also crashed kubeletd once).
        assert log.count("accept failed") <= 10, log.count("accept failed")
    # Both still serve: an exec goes through the apiserver and the kubelet.
    deadline = time.time() + 30
    while True:
        r = cluster.kubectl("exec", cluster.pod, "-c", "main", "--", "echo", "after-emfile", check=False)
        if r.returncode == 0 or time.time() > deadline:
            break
        time.sleep(0.5)
    assert r.stdout == "after-emfile\n", r.stderr


def test_kubectl_cp_both_ways(cluster):
    """kubectl cp is tar over exec (stdin in, stdout out)."""
    src = cluster.node.tmp / "cp-src.bin"
    data = os.urandom(300_000)
    src.write_bytes(data)
    cluster.kubectl("cp", "-c", "main", str(src), f"{cluster.pod}:/tmp/copied.bin")
    want = __import__("hashlib").sha256(data).hexdigest()
    assert cluster.kubectl("exec", cluster.pod, "-c", "main", "--", "sha256sum", "/tmp/copied.bin").stdout.split()[0] == want
    back = cluster.node.tmp / "cp-back.bin"
    cluster.kubectl("cp", "-c", "main", f"{cluster.pod}:/tmp/copied.bin", str(back))
    assert back.read_bytes() == data

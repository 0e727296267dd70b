"""Fixtures: a real apiserver started from the built binary after `init` into a temp dir.

The server is parameterized by store: SQLite (always) and etcd (Debian's etcd-server, started
here on free loopback ports with a temp data dir; skipped when the binary is missing).
"""
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from testkit import bin_dir, free_port  # noqa: E402



class Etcd:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="cp-etcd-")
        self.client = free_port()
        self.peer = free_port()
        self.log = open(os.path.join(self.dir, "etcd.log"), "w")
        self.proc = subprocess.Popen(
            ["etcd", "--data-dir", os.path.join(self.dir, "data"), "--name", "test",
             "--listen-client-urls", f"http://127.0.0.1:{self.client}",
             "--advertise-client-urls", f"http://127.0.0.1:{self.client}",
             "--listen-peer-urls", f"http://127.0.0.1:{self.peer}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer}",
             "--initial-cluster", f"test=http://127.0.0.1:{self.peer}"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.client}/health", timeout=1).read()
                return
            except Exception:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("etcd did not start")

    @property
    def url(self):
        return f"etcd://127.0.0.1:{self.client}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def apiserver_argv(binary, store_url, pki, port):
    """`swiftlet-control-plane apiserver` on 127.0.0.1:port with the PKI `init` wrote (and a
    tokens.csv beside it), the kubelet client certificate and the cluster CA for kubelets."""
    return [str(binary), "apiserver", "--store", store_url,
            "--tls-cert-file", f"{pki}/apiserver.crt", "--tls-private-key-file", f"{pki}/apiserver.key",
            "--client-ca-file", f"{pki}/ca.crt", "--token-auth-file", f"{pki}/tokens.csv",
            "--service-account-key-file", f"{pki}/sa.key", "--secure-port", str(port),
            "--kubelet-client-certificate", f"{pki}/apiserver-kubelet-client.crt",
            "--kubelet-client-key", f"{pki}/apiserver-kubelet-client.key",
            "--kubelet-certificate-authority", f"{pki}/ca.crt",
            "--bind-address", "127.0.0.1"]


class Server:
    """One apiserver process over one store; restartable (kill -9) without losing the root dir."""

    def __init__(self, store_kind, store_url=None):
        self.binary = os.path.join(bin_dir(), "swiftlet-control-plane")
        self.root = tempfile.mkdtemp(prefix="cp-")
        self.port = free_port()
        subprocess.run([self.binary, "init", "--root-dir", self.root, "--node-name", "node1",
                        "--secure-port", str(self.port)], check=True, capture_output=True, stdin=subprocess.DEVNULL)
        self.pki = os.path.join(self.root, "etc/kubernetes/pki")
        self.kubeconfig = os.path.join(self.root, "etc/kubernetes/admin.conf")
        self.kubelet_kubeconfig = os.path.join(self.root, "etc/kubernetes/kubelet.conf")
        self.store_kind = store_kind
        self.store_url = store_url or f"sqlite://{self.root}/state.db"
        self.token = "test-token-" + os.urandom(8).hex()
        with open(os.path.join(self.pki, "tokens.csv"), "w") as f:
            f.write(f'{self.token},jane,1001,"developers,qa"\n')
        self.proc = None
        self.log_path = os.path.join(self.root, "apiserver.log")
        self.start()

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def start(self):
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            apiserver_argv(self.binary, self.store_url, self.pki, self.port),
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        ctx = ssl.create_default_context(cafile=f"{self.pki}/ca.crt")
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("apiserver exited: " + open(self.log_path).read())
            try:
                body = urllib.request.urlopen(self.url + "/readyz", context=ctx, timeout=2).read()
                if body == b"ok":
                    return
            except Exception:
                time.sleep(0.1)
        raise RuntimeError("apiserver not ready: " + open(self.log_path).read())

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.log.close()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def kubectl(self, *args, check=True, input=None, kubeconfig=None):
        r = subprocess.run(["kubectl", "--kubeconfig", kubeconfig or self.kubeconfig, *args],
                           capture_output=True, text=True, input=input, timeout=60,
                           stdin=None if input is not None else subprocess.DEVNULL)
        if check and r.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    def request(self, method, path, body=None, content_type="application/json", token=None, cert=True, headers=None):
        """A raw HTTPS request; returns (status, parsed JSON or text)."""
        ctx = ssl.create_default_context(cafile=f"{self.pki}/ca.crt")
        if cert:
            ctx.load_cert_chain(*self.admin_cert_files())
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", content_type)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
                raw = resp.read()
                status = resp.status
        except urllib.error.HTTPError as e:
            raw = e.read()
            status = e.code
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode()

    def admin_cert_files(self):
        return self._cert_files(self.kubeconfig, "admin")

    def _cert_files(self, kubeconfig, name):
        import base64
        import yaml
        cfg = yaml.safe_load(open(kubeconfig))
        user = cfg["users"][0]["user"]
        crt = os.path.join(self.root, f"{name}.crt")
        key = os.path.join(self.root, f"{name}.key")
        if not os.path.exists(crt):
            open(crt, "wb").write(base64.b64decode(user["client-certificate-data"]))
            open(key, "wb").write(base64.b64decode(user["client-key-data"]))
        return crt, key

    def close(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def pytest_generate_tests(metafunc):
    if "server" in metafunc.fixturenames:
        metafunc.parametrize("server", ["sqlite", "etcd"], indirect=True, scope="module")


@pytest.fixture(scope="module")
def server(request):
    etcd = None
    if request.param == "etcd":
        if not shutil.which("etcd"):
            pytest.skip("etcd not installed")
        etcd = Etcd()
    s = Server(request.param, etcd.url if etcd else None)
    yield s
    s.close()
    if etcd:
        etcd.stop()


@pytest.fixture
def namespace(server):
    """A fresh namespace per test, deleted afterwards."""
    name = "t-" + os.urandom(4).hex()
    status, body = server.request("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    assert status == 201, body
    yield name
    server.kubectl("delete", "namespace", name, "--wait=false", check=False)

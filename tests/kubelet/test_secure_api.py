"""The kubelet's secure API (port, 10250 upstream): HTTPS with a self-signed serving certificate
made under <root-dir>/pki, client certificates verified against authentication.x509.clientCAFile,
401 without one (except /healthz), refused at the TLS handshake with one from another CA. The CAs
and client certificates are made here with the openssl CLI. Exec through this API (with kubectl,
through our apiserver) is tests/controlplane/test_exec_proxy.py."""
import json
import shutil
import subprocess

import pytest

import kubeletlib
from kubeletlib import bin_dir, free_port


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(d, name):
    key, crt = d / f"{name}-ca.key", d / f"{name}-ca.crt"
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key))
    openssl("req", "-x509", "-new", "-key", str(key), "-subj", f"/CN={name}-ca", "-days", "1", "-out", str(crt))
    return key, crt


def make_client(d, ca, name, org):
    ca_key, ca_crt = ca
    key, csr, crt = d / f"{name}.key", d / f"{name}.csr", d / f"{name}.crt"
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key))
    openssl("req", "-new", "-key", str(key), "-subj", f"/O={org}/CN={name}", "-out", str(csr))
    ext = d / f"{name}.ext"
    ext.write_text("extendedKeyUsage=clientAuth\n")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key), "-CAcreateserial",
            "-CAserial", str(d / f"{name}.srl"), "-days", "1", "-extfile", str(ext), "-out", str(crt))
    return crt, key


@pytest.fixture(scope="module")
def secure_node():
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl CLI")
    runtime = "swiftlet-cri" if kubeletlib.runtime_available("swiftlet-cri") else "containerd"
    n = kubeletlib.Node(runtime=runtime)
    try:
        pki = n.tmp / "pki-test"
        pki.mkdir()
        ca = make_ca(pki, "cluster")
        other = make_ca(pki, "other")
        n.client = make_client(pki, ca, "alice", "devs")
        n.stranger = make_client(pki, other, "mallory", "devs")
        n.secure_port = free_port()
        n.start_runtime()
        n.start_kubelet(port=n.secure_port,
                        authentication={"x509": {"clientCAFile": str(ca[1])}, "anonymous": {"enabled": False}},
                        authorization={"mode": "AlwaysAllow"})
        yield n
    finally:
        n.cleanup()


def curl(node, path, cert=None, extra=()):
    """(exit code, HTTP status, body) of an HTTPS request from inside the node's netns, verifying
    the kubelet against the self-signed certificate it wrote."""
    argv = ["curl", "-sS", "--max-time", "10", "--cacert", str(node.root_dir / "pki" / "kubelet.crt"),
            "-o", "-", "-w", "\n%{http_code}", *extra]
    if cert:
        argv += ["--cert", str(cert[0]), "--key", str(cert[1])]
    r = subprocess.run(node.enter(argv + [f"https://127.0.0.1:{node.secure_port}{path}"]), capture_output=True, text=True)
    body, _, status = r.stdout.rpartition("\n")
    return r.returncode, status, body, r.stderr


def test_self_signed_serving_certificate_was_made(secure_node):
    crt = secure_node.root_dir / "pki" / "kubelet.crt"
    key = secure_node.root_dir / "pki" / "kubelet.key"
    assert crt.exists() and key.exists()
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    text = subprocess.run(["openssl", "x509", "-in", str(crt), "-noout", "-text"], capture_output=True, text=True, check=True).stdout
    assert secure_node.node_name in text and "127.0.0.1" in text


def test_healthz_needs_no_certificate(secure_node):
    code, status, body, err = curl(secure_node, "/healthz")
    assert code == 0, err
    assert (status, body) == ("200", "ok")


def test_no_certificate_is_401_with_a_status(secure_node):
    code, status, body, err = curl(secure_node, "/pods")
    assert code == 0, err
    assert status == "401"
    assert json.loads(body)["reason"] == "Unauthorized"


def test_certificate_from_another_ca_is_refused(secure_node):
    code, status, body, err = curl(secure_node, "/pods", cert=secure_node.stranger)
    assert code != 0, f"a certificate from another CA was accepted: {status} {body}"
    assert status in ("", "000")
    assert "alert" in err.lower() or "ssl" in err.lower() or "certificate" in err.lower(), err


def test_valid_certificate_reads_pods(secure_node):
    code, status, body, err = curl(secure_node, "/pods", cert=secure_node.client)
    assert code == 0, err
    assert status == "200"
    assert json.loads(body)["kind"] == "PodList"


def test_exec_errors_are_statuses(secure_node):
    c = secure_node.client
    # No command: 400 naming the parameter.
    _, status, body, _ = curl(secure_node, "/exec/default/p/c?output=1", cert=c)
    assert status == "400" and "command" in json.loads(body)["message"]
    # A bad boolean.
    _, status, body, _ = curl(secure_node, "/exec/default/p/c?command=ls&output=maybe", cert=c)
    assert status == "400" and "output" in json.loads(body)["message"]
    # Not an upgrade request.
    _, status, body, _ = curl(secure_node, "/exec/default/p/c?command=ls&output=1", cert=c)
    assert status == "400" and "Upgrade" in json.loads(body)["message"]
    # An upgrade for a pod the node does not run: 404.
    upgrade = ["-H", "Connection: Upgrade", "-H", "Upgrade: SPDY/3.1", "-H", "X-Stream-Protocol-Version: v4.channel.k8s.io"]
    _, status, body, _ = curl(secure_node, "/exec/default/nope/c?command=ls&output=1", cert=c, extra=upgrade)
    assert status == "404", body
    assert json.loads(body)["reason"] == "NotFound"
    _, status, body, _ = curl(secure_node, "/portForward/default/nope", cert=c, extra=upgrade)
    assert status == "404", body


@pytest.mark.parametrize("config,field", [
    ({"authorization": {"mode": "Webhook"}}, "authorization.mode"),
    ({"authorization": {"mode": "Sometimes"}}, "authorization.mode"),
    ({"authentication": {"x509": {"clientCAFile": "/nonexistent/ca.crt"}}}, "authentication.x509.clientCAFile"),
    ({"authentication": {"x509": {"clientCaFile": "/x"}}}, "authentication.x509.clientCaFile"),
    ({"authentication": {"webhook": {"enabled": True}}}, "authentication.webhook.enabled"),
    ({"tlsCertFile": "/nonexistent.crt"}, "tlsPrivateKeyFile"),
    ({"tlsCertFile": "/nonexistent.crt", "tlsPrivateKeyFile": "/nonexistent.key"}, "tlsCertFile"),
])
def test_bad_secure_api_settings_stop_start_up(tmp_path, config, field):
    doc = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
           "staticPodPath": str(tmp_path), "containerRuntimeEndpoint": f"unix://{tmp_path}/none.sock", **config}
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(doc))
    r = subprocess.run([str(bin_dir() / "kubeletd"), "--config", str(path), "--root-dir", str(tmp_path / "root")],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert r.returncode == 2, r.stderr
    assert f"invalid configuration: {field}:" in r.stderr, r.stderr


def test_debugging_handlers_off(tmp_path):
    """enableDebuggingHandlers: false turns exec, attach, portForward and containerLogs off."""
    runtime = "swiftlet-cri" if kubeletlib.runtime_available("swiftlet-cri") else "containerd"
    n = kubeletlib.Node(runtime=runtime)
    try:
        n.secure_port = free_port()
        n.start_runtime()
        n.start_kubelet(port=n.secure_port, enableDebuggingHandlers=False, authentication={"anonymous": {"enabled": True}})
        _, status, body, _ = curl(n, "/pods")
        assert status == "200", body  # anonymous allowed here
        for path in ("/exec/default/p/c?command=ls&output=1", "/portForward/default/p", "/containerLogs/default/p/c"):
            _, status, body, _ = curl(n, path)
            assert status == "404" and "enableDebuggingHandlers" in json.loads(body)["message"], (path, body)
    finally:
        n.cleanup()

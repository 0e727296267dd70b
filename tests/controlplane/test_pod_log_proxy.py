"""pods/log proxied to the pod's node. There is no kubelet :10250 API yet, so the peer here is a
TLS server this test runs: a real TLS endpoint at the Node's address and
daemonEndpoints.kubeletEndpoint.Port, with a serving certificate from the cluster CA, that demands
the apiserver's client certificate and records the path and query it was asked for. It is NOT the
kubelet; it checks what the apiserver sends a kubelet."""
import http.server
import json
import os
import ssl
import subprocess
import threading
import time
from urllib.parse import urlsplit, parse_qs

import pytest


class FakeKubeletLogs:
    def __init__(self, pki, workdir):
        key, crt = os.path.join(workdir, "kubelet.key"), os.path.join(workdir, "kubelet.crt")
        csr = os.path.join(workdir, "kubelet.csr")
        subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key], check=True, capture_output=True)
        subprocess.run(["openssl", "req", "-new", "-key", key, "-subj", "/CN=logs-node", "-out", csr], check=True, capture_output=True)
        subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", f"{pki}/ca.crt", "-CAkey", f"{pki}/ca.key",
                        "-CAcreateserial", "-CAserial", os.path.join(workdir, "ca.srl"), "-days", "1", "-out", crt],
                       check=True, capture_output=True)
        self.requests = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args):
                pass

            def do_GET(self):
                cert = self.connection.getpeercert()
                cn = dict(x[0] for x in cert["subject"]).get("commonName") if cert else None
                url = urlsplit(self.path)
                outer.requests.append({"path": url.path, "query": parse_qs(url.query), "cn": cn})
                if not url.path.startswith("/containerLogs/"):
                    self.send_response(404)
                    self.end_headers()
                    self.wfile.write(b"404 page not found")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                container = url.path.rsplit("/", 1)[1]
                follow = parse_qs(url.query).get("follow") == ["true"]
                for i in range(3):
                    self.wfile.write(f"{container} line {i}\n".encode())
                    self.wfile.flush()
                    if follow:
                        time.sleep(0.3)

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        ctx.load_verify_locations(f"{pki}/ca.crt")
        ctx.verify_mode = ssl.CERT_REQUIRED  # no client certificate from the cluster CA: no TLS
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def kubelet(server, tmp_path):
    k = FakeKubeletLogs(server.pki, str(tmp_path))
    yield k
    k.close()


def make_node_and_pod(server, namespace, port, node="logs-node"):
    body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node}}
    server.request("POST", "/api/v1/nodes", body)
    status = {"status": {"addresses": [{"type": "Hostname", "address": "no-such-host.invalid"},
                                       {"type": "InternalIP", "address": "127.0.0.1"}],
                         "daemonEndpoints": {"kubeletEndpoint": {"Port": port}}}}
    assert server.request("PATCH", f"/api/v1/nodes/{node}/status", status, content_type="application/merge-patch+json")[0] == 200
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"nodeName": node, "containers": [{"name": "a", "image": "busybox"}, {"name": "b", "image": "busybox"}]}}
    assert server.request("POST", f"/api/v1/namespaces/{namespace}/pods", pod)[0] == 201


def test_kubectl_logs_goes_to_the_nodes_kubelet_endpoint(server, namespace, kubelet):
    make_node_and_pod(server, namespace, kubelet.port)
    r = server.kubectl("-n", namespace, "logs", "p", "-c", "b", "--tail=2", "--timestamps")
    assert r.stdout == "b line 0\nb line 1\nb line 2\n"  # what the peer sent, unchanged
    req = kubelet.requests[-1]
    assert req["path"] == f"/containerLogs/{namespace}/p/b"
    assert req["query"] == {"tailLines": ["2"], "timestamps": ["true"]}
    assert req["cn"] == "kube-apiserver-kubelet-client"
    # Follow streams until the kubelet ends the answer.
    r = server.kubectl("-n", namespace, "logs", "-f", "p", "-c", "a")
    assert r.stdout == "a line 0\na line 1\na line 2\n"
    assert kubelet.requests[-1]["query"] == {"follow": ["true"]}


def test_log_request_errors(server, namespace, kubelet):
    make_node_and_pod(server, namespace, kubelet.port)
    n = len(kubelet.requests)
    base = f"/api/v1/namespaces/{namespace}/pods"
    status, body = server.request("GET", f"{base}/p/log")
    assert status == 400 and "a container name must be specified for pod p, choose one of: [a b]" in body["message"]
    status, body = server.request("GET", f"{base}/p/log?container=zz")
    assert status == 400 and "container zz is not valid for pod p" in body["message"]
    status, body = server.request("GET", f"{base}/p/log?container=a&tailLines=-1")
    assert status == 400 and "tailLines" in body["message"]
    unscheduled = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "u"},
                   "spec": {"containers": [{"name": "a", "image": "busybox"}]}}
    server.request("POST", f"{base}", unscheduled)
    status, body = server.request("GET", f"{base}/u/log")
    assert status == 400 and "does not have a host assigned" in body["message"]
    assert len(kubelet.requests) == n  # none of these reached the kubelet
    # Without RBAC on pods/log a user is refused before anything is proxied.
    status, body = server.request("GET", f"{base}/p/log?container=a", token=server.token, cert=False)
    assert status == 403 and len(kubelet.requests) == n


def test_kubelet_with_an_untrusted_certificate_is_refused(server, namespace, tmp_path):
    # A TLS peer whose certificate is self-signed (not from the cluster CA): with
    # --kubelet-certificate-authority set, the apiserver does not send it the request.
    key, crt = str(tmp_path / "k.key"), str(tmp_path / "k.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", crt, "-subj", "/CN=rogue", "-days", "1"], check=True, capture_output=True)
    seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        make_node_and_pod(server, namespace, httpd.server_address[1], node="rogue-node")
        status, body = server.request("GET", f"/api/v1/namespaces/{namespace}/pods/p/log?container=a")
        assert status == 500 and "containerLogs" in body["message"], body
        assert seen == []
    finally:
        httpd.shutdown()
        httpd.server_close()

"""grpc and HTTPS probes through the kubelet's real probe path: the kubelet connects from the node
to the pod IP. The servers are Python programs the test runs inside the pod's network namespace
(entered with nsenter through the container's /proc/<pid>/ns/net): a grpcio server with the
official grpc.health.v1 servicer (grpcio-health-checking), and an HTTPS server (Python ssl, a
self-signed certificate) that checks headers and answers with redirects. The pod itself is busybox
`sleep`, so only the servers' answers decide the probes."""
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from test_static_pods import status

GRPC_SERVER = textwrap.dedent("""
    import sys
    from concurrent import futures
    import grpc
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
    servicer.set("", health_pb2.HealthCheckResponse.SERVING)
    servicer.set("ready-svc", health_pb2.HealthCheckResponse.NOT_SERVING)
    server.add_insecure_port("0.0.0.0:" + sys.argv[1])
    server.start()
    print("listening", flush=True)
    for line in sys.stdin:  # "<service> <STATUS>" changes a status
        name, value = line.split()
        servicer.set("" if name == "-" else name, getattr(health_pb2.HealthCheckResponse, value))
        print("set", name, value, flush=True)
    server.stop(0)
""")

HTTPS_SERVER = textwrap.dedent("""
    import http.server, ssl, sys
    port, cert, key, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            with open(log, "a") as f:
                f.write(f"{self.path} ua={self.headers.get('User-Agent')} x-probe={self.headers.get('X-Probe')} host={self.headers.get('Host')}\\n")
            if self.path == "/redirect-same":
                self.send_response(302); self.send_header("Location", "/healthz"); self.end_headers()
            elif self.path == "/redirect-other":
                self.send_response(302); self.send_header("Location", "https://elsewhere.invalid/healthz"); self.end_headers()
            elif self.path == "/redirect-missing":
                self.send_response(302); self.send_header("Location", "/missing"); self.end_headers()
            elif self.path == "/healthz" and self.headers.get("X-Probe") == "yes":
                body = b"ok"
                self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
                self.wfile.write(body)
            else:
                self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers()
        def log_message(self, *args):
            pass
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = http.server.ThreadingHTTPServer(("0.0.0.0", port), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print("listening", flush=True)
    server.serve_forever()
""")


def marker_pod(name, marker, containers_yaml):
    return f"""apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
{containers_yaml}"""


def pod_netns_pid(marker, timeout=60):
    """The host PID of the container running `sleep <marker>` (its netns is the pod's)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        out = subprocess.run(["pgrep", "-f", f"^sleep {marker}$"], capture_output=True, text=True).stdout.split()
        if out:
            return int(out[0])
        time.sleep(0.2)
    raise AssertionError(f"no process 'sleep {marker}' appeared")


class PodServer:
    """A Python program running in a pod's network namespace; stopped (and reaped) on exit."""

    def __init__(self, node, pid, script, args):
        path = node.tmp / f"server-{random.randrange(1 << 30)}.py"
        path.write_text(script)
        self.log = node.tmp / f"{path.stem}.out"
        self.proc = subprocess.Popen(["nsenter", f"--net=/proc/{pid}/ns/net", "--", sys.executable, str(path)] + args,
                                     stdin=subprocess.PIPE, stdout=open(self.log, "w"), stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        deadline = time.time() + 20
        while "listening" not in self.log.read_text():
            if self.proc.poll() is not None or time.time() > deadline:
                raise AssertionError("server did not start:\n" + self.log.read_text())
            time.sleep(0.1)

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)


def container_state(node, pod, container):
    return next(c for c in status(node, pod)["containerStatuses"] if c["name"] == container)


def test_grpc_probes_follow_the_health_service_status(node, manifests):
    marker = 31000 + random.randrange(9999)
    manifests("grpc.yaml", marker_pod("grpc", marker, f"""  - name: main
    image: {node.image}
    command: [sleep, "{marker}"]
    readinessProbe:
      grpc: {{port: 9555, service: ready-svc}}
      periodSeconds: 1
    livenessProbe:
      grpc: {{port: 9555}}
      initialDelaySeconds: 8
      periodSeconds: 1
      failureThreshold: 3
"""))
    server = PodServer(node, pod_netns_pid(marker), GRPC_SERVER, ["9555"])
    try:
        node.wait_for(lambda: status(node, "grpc").get("phase") == "Running", what="Running")
        node.wait_for(lambda: 'service unhealthy (responded with \\"NOT_SERVING\\")' in node.log("kubeletd")
                      or 'service unhealthy (responded with "NOT_SERVING")' in node.log("kubeletd"),
                      timeout=30, what="NOT_SERVING reported as the readiness failure")
        assert container_state(node, "grpc", "main")["ready"] is False
        server.send("ready-svc SERVING")
        node.wait_for(lambda: container_state(node, "grpc", "main")["ready"], timeout=30, what="ready once SERVING")
        conditions = {c["type"]: c["status"] for c in status(node, "grpc")["conditions"]}
        assert conditions["Ready"] == "True"
        # The liveness probe (overall health, SERVING) never failed: no restart.
        assert container_state(node, "grpc", "main")["restartCount"] == 0
        # NOT_SERVING on the overall health fails liveness: the container is restarted.
        server.send("- NOT_SERVING")
        node.wait_for(lambda: container_state(node, "grpc", "main")["restartCount"] >= 1, timeout=60,
                      what="restart after liveness NOT_SERVING")
    finally:
        server.stop()


def test_grpc_probe_without_a_server_fails_with_the_reason(node, manifests):
    marker = 31000 + random.randrange(9999)
    manifests("nogrpc.yaml", marker_pod("nogrpc", marker, f"""  - name: main
    image: {node.image}
    command: [sleep, "{marker}"]
    readinessProbe:
      grpc: {{port: 9556}}
      periodSeconds: 1
"""))
    node.wait_for(lambda: status(node, "nogrpc").get("phase") == "Running", what="Running")
    node.wait_for(lambda: any("failed to connect service" in line and ":9556" in line
                              for line in node.log("kubeletd").splitlines()),
                  timeout=30, what="connection failure reported")
    assert container_state(node, "nogrpc", "main")["ready"] is False


def test_https_probes_skip_verification_send_headers_and_follow_same_host_redirects(node, manifests):
    marker = 31000 + random.randrange(9999)
    cert, key = node.tmp / "probe-cert.pem", node.tmp / "probe-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=probe-test",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    requests_log = node.tmp / "https-requests.log"
    requests_log.write_text("")
    manifests("tls.yaml", marker_pod("tls", marker, f"""  - name: main
    image: {node.image}
    command: [sleep, "{marker}"]
    readinessProbe:
      httpGet: {{scheme: HTTPS, port: 8443, path: /redirect-same, httpHeaders: [{{name: X-Probe, value: "yes"}}]}}
      periodSeconds: 1
    livenessProbe:
      httpGet: {{scheme: HTTPS, port: 8443, path: /redirect-other}}
      initialDelaySeconds: 8
      periodSeconds: 1
      failureThreshold: 1
  - name: other
    image: {node.image}
    command: [sleep, "3600"]
    readinessProbe:
      httpGet: {{scheme: HTTPS, port: 8443, path: /redirect-missing}}
      periodSeconds: 1
"""))
    server = PodServer(node, pod_netns_pid(marker), HTTPS_SERVER, ["8443", str(cert), str(key), str(requests_log)])
    try:
        node.wait_for(lambda: container_state(node, "tls", "main")["ready"], timeout=40,
                      what="ready through an HTTPS redirect to /healthz with the header")
        seen = requests_log.read_text()
        # The redirect on the same host was followed, with the user's header and upstream's User-Agent.
        assert "/healthz ua=kube-probe/1.32 x-probe=yes" in seen
        # A redirect to another host ends there: success with a warning, so liveness never fails.
        node.wait_for(lambda: "/redirect-other" in requests_log.read_text() and "probe terminated redirects" in node.log("kubeletd"),
                      timeout=30, what="redirect to another host reported as a warning")
        assert "elsewhere.invalid" in node.log("kubeletd")
        time.sleep(3)
        assert container_state(node, "tls", "main")["restartCount"] == 0
        # A same-host redirect to a 404 fails.
        node.wait_for(lambda: "HTTP probe failed with statuscode: 404" in node.log("kubeletd"), timeout=30,
                      what="404 after a redirect")
        assert container_state(node, "tls", "other")["ready"] is False
        assert "/missing" in requests_log.read_text()
    finally:
        server.stop()

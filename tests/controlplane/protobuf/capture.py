#!/usr/bin/env python3
"""Regenerates the protobuf fixtures in this directory: the exact request bodies kubectl 1.32's
typed clients send (application/vnd.kubernetes.protobuf, encoded by kubectl's own Go code).

It starts our apiserver on SQLite (the conftest's Server), puts a recording HTTP proxy in front
of it, points kubectl at the proxy, runs every `kubectl create …` below and saves each protobuf
body as `<name>.pb`. For `job-from-cronjob` it first creates rich-cronjob.json (a CronJob whose
PodSpec uses nearly every field) as JSON, and saves the JSON the server answered with as
`rich-cronjob.served.json`: kubectl reads that JSON, re-encodes the template as protobuf in the
Job it posts, so the Swift tests can compare the decoded template with it field by field.

Usage (as root, after `swift build --product swiftlet-control-plane`):
    SWIFTLET_BIN_DIR=$(swift build --show-bin-path) python3 tests/controlplane/protobuf/capture.py
    python3 tests/controlplane/protobuf/build_deployment.py   # deployment-rich.{pb,json} from the capture
"""
import http.server
import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parents[1]))
from conftest import Server  # noqa: E402

# (fixture name, kubectl arguments); every one sends a protobuf body.
COMMANDS = [
    ("deployment", ["create", "deployment", "web", "--image=nginx:1.27", "--image=busybox:1.36", "--replicas=3", "--port=8080"]),
    ("service-clusterip", ["create", "service", "clusterip", "svc-a", "--tcp=80:8080", "--tcp=443:8443"]),
    ("service-nodeport", ["create", "service", "nodeport", "svc-b", "--tcp=80:8080", "--node-port=30080"]),
    ("service-loadbalancer", ["create", "service", "loadbalancer", "svc-c", "--tcp=5678:8080"]),
    ("service-externalname", ["create", "service", "externalname", "svc-d", "--external-name=db.example.com"]),
    ("job", ["create", "job", "once", "--image=busybox:1.36", "--", "echo", "hi"]),
    ("cronjob", ["create", "cronjob", "tick", "--image=busybox:1.36", "--schedule=*/5 * * * *", "--restart=OnFailure", "--", "date"]),
    ("quota", ["create", "quota", "q", "--hard=cpu=1,memory=1Gi,pods=10", "--scopes=BestEffort"]),
    ("priorityclass", ["create", "priorityclass", "high", "--value=1000", "--description=important", "--preemption-policy=Never", "--global-default=false"]),
    ("pdb", ["create", "poddisruptionbudget", "pdb", "--selector=app=web", "--min-available=50%"]),
    ("ingress", ["create", "ingress", "ing", "--class=nginx", "--rule=foo.com/bar*=svc-a:8080,tls=cert", "--default-backend=svc-a:http",
                 "--annotation=a=b"]),
    ("clusterrole-aggregation", ["create", "clusterrole", "agg", "--aggregation-rule=rbac.example.com/aggregate-to-monitoring=true"]),
    ("role", ["create", "role", "reader", "--verb=get,list", "--resource=pods,deployments.apps", "--resource-name=x"]),
    ("namespace", ["create", "namespace", "captured"]),
    ("serviceaccount", ["create", "serviceaccount", "robot"]),
    ("token", ["create", "token", "robot", "--audience=vault", "--duration=10m"]),
    ("can-i", ["auth", "can-i", "list", "pods", "--subresource=log", "-n", "kube-system"]),
]


class Recorder(http.server.BaseHTTPRequestHandler):
    """Forwards every request to the apiserver (with the admin certificate) and keeps the
    protobuf bodies kubectl sends."""
    upstream = ""
    context = None
    current = None  # fixture name of the command being run
    saved = {}

    def log_message(self, *args):
        pass

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        ctype = self.headers.get("Content-Type", "")
        if body and "protobuf" in ctype and Recorder.current and self.command in ("POST", "PUT"):
            Recorder.saved[Recorder.current] = body
        req = urllib.request.Request(Recorder.upstream + self.path, data=body, method=self.command)
        for k, v in self.headers.items():
            if k.lower() not in ("host", "content-length", "connection", "accept-encoding"):
                req.add_header(k, v)
        try:
            resp = urllib.request.urlopen(req, context=Recorder.context, timeout=30)
            status, headers, data = resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            status, headers, data = e.code, e.headers, e.read()
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = forward


def main():
    server = Server("sqlite")
    proxy = None
    tmp = tempfile.mkdtemp(prefix="pb-capture-")
    try:
        Recorder.upstream = server.url
        ctx = ssl.create_default_context(cafile=f"{server.pki}/ca.crt")
        ctx.load_cert_chain(*server.admin_cert_files())
        Recorder.context = ctx
        proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        kubeconfig = os.path.join(tmp, "kubeconfig")
        with open(kubeconfig, "w") as f:
            f.write(f"""apiVersion: v1
kind: Config
clusters: [{{name: c, cluster: {{server: "http://127.0.0.1:{proxy.server_address[1]}"}}}}]
users: [{{name: u, user: {{}}}}]
contexts: [{{name: c, context: {{cluster: c, user: u, namespace: default}}}}]
current-context: c
""")

        def kubectl(*args, input=None):
            r = subprocess.run(["kubectl", "--kubeconfig", kubeconfig, *args], capture_output=True, text=True, input=input,
                               timeout=60, stdin=None if input is not None else subprocess.DEVNULL)
            return r

        for name, args in COMMANDS:
            Recorder.current = name
            r = kubectl(*args)
            print(f"{name}: rc={r.returncode} {r.stdout.strip() or r.stderr.strip()}")
        # The rich template: created as JSON, read back by kubectl, re-sent as protobuf in a Job.
        Recorder.current = None
        r = kubectl("create", "-f", str(HERE / "rich-cronjob.json"))
        assert r.returncode == 0, r.stderr
        served = json.loads(kubectl("get", "cronjob", "rich", "-o", "json").stdout)
        Recorder.current = "job-from-cronjob"
        r = kubectl("create", "job", "manual", "--from=cronjob/rich")
        print(f"job-from-cronjob: rc={r.returncode} {r.stdout.strip() or r.stderr.strip()}")
        Recorder.current = None
        (HERE / "rich-cronjob.served.json").write_text(json.dumps(served, indent=1, sort_keys=True) + "\n")
        for name, body in sorted(Recorder.saved.items()):
            (HERE / f"{name}.pb").write_bytes(body)
            print(f"saved {name}.pb ({len(body)} bytes)")
        missing = [n for n, _ in COMMANDS if n not in Recorder.saved] + ([] if "job-from-cronjob" in Recorder.saved else ["job-from-cronjob"])
        if missing:
            sys.exit(f"no protobuf body captured for: {', '.join(missing)}")
    finally:
        if proxy:
            proxy.shutdown()
        server.close()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()

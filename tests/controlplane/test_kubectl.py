"""kubectl end to end against the real apiserver: the issue's acceptance steps."""
import json
import subprocess
import time

import yaml

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: IMAGE
        ports: [{containerPort: 80}]
        env: [{name: MODE, value: "MODEVALUE"}]
"""


def get(server, ns, *what):
    return json.loads(server.kubectl("-n", ns, "get", *what, "-o", "json").stdout)


def test_health_is_anonymous_and_the_rest_is_not(server):
    status, body = server.request("GET", "/healthz", cert=False)
    assert (status, body) == (200, "ok")
    status, body = server.request("GET", "/api/v1/pods", cert=False)
    assert status == 401
    assert body["kind"] == "Status" and body["reason"] == "Unauthorized"


def test_discovery_lists_served_resources(server):
    out = server.kubectl("api-resources", "-o", "name").stdout.split()
    for name in ["pods", "services", "deployments.apps", "leases.coordination.k8s.io",
                 "clusterrolebindings.rbac.authorization.k8s.io", "endpointslices.discovery.k8s.io", "cronjobs.batch"]:
        assert name in out
    assert "Kubernetes" in server.kubectl("cluster-info").stdout or "running" in server.kubectl("cluster-info").stdout


def test_create_apply_twice_patch_label_scale_delete(server, namespace):
    first = DEPLOYMENT.replace("IMAGE", "nginx:1.25").replace("MODEVALUE", "one")
    out = server.kubectl("-n", namespace, "apply", "-f", "-", input=first).stdout
    assert "deployment.apps/web created" in out
    d1 = get(server, namespace, "deployment", "web")
    assert d1["metadata"]["generation"] == 1
    assert "kubectl.kubernetes.io/last-applied-configuration" in d1["metadata"]["annotations"]

    second = DEPLOYMENT.replace("IMAGE", "nginx:1.26").replace("MODEVALUE", "two")
    out = server.kubectl("-n", namespace, "apply", "-f", "-", input=second).stdout
    assert "deployment.apps/web configured" in out
    d2 = get(server, namespace, "deployment", "web")
    c = d2["spec"]["template"]["spec"]["containers"]
    assert [x["image"] for x in c] == ["nginx:1.26"]
    assert c[0]["env"] == [{"name": "MODE", "value": "two"}]
    assert d2["metadata"]["generation"] == 2
    assert int(d2["metadata"]["resourceVersion"]) > int(d1["metadata"]["resourceVersion"])
    assert d2["metadata"]["uid"] == d1["metadata"]["uid"]

    # the three patch types
    server.kubectl("-n", namespace, "patch", "deployment", "web", "--type=json",
                   "-p", '[{"op":"replace","path":"/spec/replicas","value":4}]')
    server.kubectl("-n", namespace, "patch", "deployment", "web", "--type=merge",
                   "-p", '{"metadata":{"annotations":{"owner":"team-a"}}}')
    server.kubectl("-n", namespace, "patch", "deployment", "web",
                   "-p", '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1.36"}]}}}}')
    d3 = get(server, namespace, "deployment", "web")
    assert d3["spec"]["replicas"] == 4
    assert d3["metadata"]["annotations"]["owner"] == "team-a"
    # strategic merge keeps nginx and adds the sidecar (a merge patch would have replaced the list)
    assert [x["name"] for x in d3["spec"]["template"]["spec"]["containers"]] == ["nginx", "sidecar"]

    server.kubectl("-n", namespace, "label", "deployment", "web", "tier=frontend")
    assert get(server, namespace, "deployment", "web")["metadata"]["labels"] == {"app": "web", "tier": "frontend"}
    server.kubectl("-n", namespace, "scale", "deployment", "web", "--replicas=7")
    assert get(server, namespace, "deployment", "web")["spec"]["replicas"] == 7

    wide = server.kubectl("-n", namespace, "get", "deployment", "-o", "wide", "-l", "tier=frontend").stdout.splitlines()
    assert wide[0].split()[:5] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert "IMAGES" in wide[0] and "nginx:1.26,busybox:1.36" in wide[1]
    assert wide[1].split()[1] == "0/7"

    as_yaml = yaml.safe_load(server.kubectl("-n", namespace, "get", "deployment", "web", "-o", "yaml").stdout)
    assert as_yaml["kind"] == "Deployment" and as_yaml["spec"]["replicas"] == 7

    server.kubectl("-n", namespace, "delete", "deployment", "web")
    r = server.kubectl("-n", namespace, "get", "deployment", "web", check=False)
    assert r.returncode != 0 and "NotFound" in r.stderr


def test_pods_get_wide_describe_and_watch(server, namespace):
    watcher = subprocess.Popen(["kubectl", "--kubeconfig", server.kubeconfig, "-n", namespace, "get", "pods", "-w",
                                "--output-watch-events"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               stdin=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        server.kubectl("-n", namespace, "run", "box", "--image=busybox:1.36", "--labels=app=box", "--", "sleep", "3600")
        server.kubectl("-n", namespace, "label", "pod", "box", "stage=two")
        server.kubectl("-n", namespace, "delete", "pod", "box")
        time.sleep(1.5)
    finally:
        watcher.terminate()
        out, _ = watcher.communicate(timeout=10)
    events = [line.split()[0] for line in out.splitlines() if "box" in line]
    assert events[0] == "ADDED" and "MODIFIED" in events and events[-1] == "DELETED", out

    server.kubectl("-n", namespace, "run", "box2", "--image=busybox:1.36")
    wide = server.kubectl("-n", namespace, "get", "pods", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert wide[1].split()[:3] == ["box2", "0/1", "Pending"]
    described = server.kubectl("-n", namespace, "describe", "pod", "box2").stdout
    assert "Name:" in described and "box2" in described and "busybox:1.36" in described
    assert "QoS Class:" in described and "BestEffort" in described
    pod = get(server, namespace, "pod", "box2")
    # defaulting
    assert pod["spec"]["restartPolicy"] == "Always" and pod["spec"]["dnsPolicy"] == "ClusterFirst"
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert pod["status"]["phase"] == "Pending"


def test_services_get_cluster_ips_and_node_ports(server, namespace):
    svc = """
apiVersion: v1
kind: Service
metadata: {name: NAME}
spec:
  type: TYPE
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
"""
    server.kubectl("-n", namespace, "apply", "-f", "-", input=svc.replace("NAME", "a").replace("TYPE", "ClusterIP"))
    server.kubectl("-n", namespace, "apply", "-f", "-", input=svc.replace("NAME", "b").replace("TYPE", "NodePort"))
    a = get(server, namespace, "service", "a")
    b = get(server, namespace, "service", "b")
    for s in (a, b):
        octets = [int(x) for x in s["spec"]["clusterIP"].split(".")]
        assert octets[0] == 10 and 96 <= octets[1] < 112
    assert a["spec"]["clusterIP"] != b["spec"]["clusterIP"]
    assert 30000 <= b["spec"]["ports"][0]["nodePort"] <= 32767
    # a second apply keeps the allocated values
    server.kubectl("-n", namespace, "apply", "-f", "-", input=svc.replace("NAME", "b").replace("TYPE", "NodePort").replace("8080", "9090"))
    b2 = get(server, namespace, "service", "b")
    assert b2["spec"]["clusterIP"] == b["spec"]["clusterIP"]
    assert b2["spec"]["ports"][0]["nodePort"] == b["spec"]["ports"][0]["nodePort"]
    assert b2["spec"]["ports"][0]["targetPort"] == 9090
    # an explicit IP that is taken is refused, naming the field
    status, body = server.request("POST", f"/api/v1/namespaces/{namespace}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "c"},
        "spec": {"clusterIP": a["spec"]["clusterIP"], "ports": [{"port": 80}]}})
    assert status == 422 and body["details"]["causes"][0]["field"] == "spec.clusterIPs"
    line = server.kubectl("-n", namespace, "get", "svc", "b").stdout.splitlines()[1].split()
    assert line[1] == "NodePort" and line[4] == f"80:{b['spec']['ports'][0]['nodePort']}/TCP"


def test_typed_kubectl_commands_send_protobuf(server, namespace):
    """kubectl's typed create commands and `auth` send protobuf bodies."""
    ns2 = namespace + "-b"
    server.kubectl("create", "namespace", ns2)
    try:
        assert get(server, ns2, "namespace", ns2)["status"]["phase"] == "Active"
        server.kubectl("-n", ns2, "create", "configmap", "cfg", "--from-literal=a=1", "--from-literal=b=two")
        assert get(server, ns2, "configmap", "cfg")["data"] == {"a": "1", "b": "two"}
        server.kubectl("-n", ns2, "create", "secret", "generic", "sec", "--from-literal=password=s3cret")
        import base64
        assert base64.b64decode(get(server, ns2, "secret", "sec")["data"]["password"]) == b"s3cret"
        server.kubectl("-n", ns2, "create", "serviceaccount", "builder")
        token = server.kubectl("-n", ns2, "create", "token", "builder", "--duration=15m").stdout.strip()
        assert token.count(".") == 2
        r = server.kubectl("auth", "can-i", "list", "pods", "-n", ns2, f"--token={token}", check=False)
        # a bearer token replaces the admin certificate; without a binding the answer is no
        assert r.stdout.strip() == "no"
        server.kubectl("-n", ns2, "create", "rolebinding", "builder-view", "--clusterrole=view", f"--serviceaccount={ns2}:builder")
        assert server.kubectl("auth", "can-i", "list", "pods", "-n", ns2, f"--token={token}").stdout.strip() == "yes"
        assert server.kubectl("auth", "can-i", "delete", "pods", "-n", ns2, f"--token={token}", check=False).stdout.strip() == "no"
        who = server.kubectl("auth", "whoami", "-o", "json").stdout
        assert '"kubernetes-admin"' in who and "system:masters" in who
    finally:
        server.kubectl("delete", "namespace", ns2, check=False)


def test_explain_and_openapi(server, namespace):
    out = server.kubectl("explain", "pods.spec.containers").stdout
    assert "KIND:" in out and "Pod" in out and "image" in out
    out = server.kubectl("explain", "deployment.spec.replicas").stdout
    assert "Number of desired pods" in out
    # apply computes its patch from the published merge keys: a changed container env entry
    # merges by name and a removed one is dropped
    base = DEPLOYMENT.replace("IMAGE", "nginx:1.25").replace("MODEVALUE", "x").replace("name: web", "name: explained")
    server.kubectl("-n", namespace, "apply", "-f", "-", input=base)
    changed = base.replace('env: [{name: MODE, value: "x"}]', 'env: [{name: OTHER, value: "y"}]')
    r = server.kubectl("-n", namespace, "apply", "-f", "-", input=changed)
    assert "warning" not in r.stderr.lower(), r.stderr
    env = get(server, namespace, "deployment", "explained")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "OTHER", "value": "y"}]

"""Every `kubectl create` subcommand of kubectl 1.32 against our apiserver on SQLite.

The typed subcommands send protobuf bodies (application/vnd.kubernetes.protobuf); each test checks
with `kubectl get -o json` that the object holds what the command asked for.
"""
import base64
import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import Server

HERE = Path(__file__).resolve().parent
RICH_CRONJOB = HERE / "protobuf" / "rich-cronjob.json"


@pytest.fixture(scope="module")
def api():
    s = Server("sqlite")
    yield s
    s.close()


@pytest.fixture(scope="module")
def ns(api):
    name = "create-" + os.urandom(3).hex()
    api.kubectl("create", "namespace", name)
    yield name
    api.kubectl("delete", "namespace", name, "--wait=false", check=False)


def create(api, ns, *args):
    """Runs `kubectl create …` and checks that its body went as protobuf."""
    r = api.kubectl("-v=8", "-n", ns, "create", *args)
    assert "Content-Type: application/vnd.kubernetes.protobuf" in r.stderr, r.stderr[-2000:]
    return r


def get(api, ns, *what):
    return json.loads(api.kubectl("-n", ns, "get", *what, "-o", "json").stdout)


def require_served(api, path, resource):
    status, body = api.request("GET", path)
    names = [r["name"] for r in body.get("resources", [])] if status == 200 and isinstance(body, dict) else []
    assert resource in names, f"{resource} is not served by this apiserver ({path})"


def test_deployment(api, ns):
    create(api, ns, "deployment", "web", "--image=nginx:1.27", "--replicas=3", "--port=8080")
    d = get(api, ns, "deployment", "web")
    assert d["spec"]["replicas"] == 3
    assert d["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    (c,) = d["spec"]["template"]["spec"]["containers"]
    assert c["image"] == "nginx:1.27"
    assert c["ports"][0]["containerPort"] == 8080
    assert d["metadata"]["labels"] == {"app": "web"}


def test_deployment_with_zero_replicas_keeps_zero(api, ns):
    create(api, ns, "deployment", "idle", "--image=nginx:1.27", "--replicas=0")
    assert get(api, ns, "deployment", "idle")["spec"]["replicas"] == 0


def test_service_clusterip(api, ns):
    create(api, ns, "service", "clusterip", "svc-a", "--tcp=80:8080", "--tcp=443:8443")
    s = get(api, ns, "service", "svc-a")
    assert s["spec"]["type"] == "ClusterIP"
    assert [(p["port"], p["targetPort"], p["protocol"]) for p in s["spec"]["ports"]] == [(80, 8080, "TCP"), (443, 8443, "TCP")]
    assert s["spec"]["clusterIP"] and s["spec"]["clusterIP"] != "None"
    assert s["spec"]["selector"] == {"app": "svc-a"}


def test_service_headless(api, ns):
    create(api, ns, "service", "clusterip", "svc-h", "--clusterip=None")
    assert get(api, ns, "service", "svc-h")["spec"]["clusterIP"] == "None"


def test_service_nodeport(api, ns):
    create(api, ns, "service", "nodeport", "svc-b", "--tcp=80:8080", "--node-port=30081")
    s = get(api, ns, "service", "svc-b")
    assert s["spec"]["type"] == "NodePort"
    assert s["spec"]["ports"][0]["nodePort"] == 30081
    assert s["spec"]["ports"][0]["targetPort"] == 8080


def test_service_loadbalancer(api, ns):
    create(api, ns, "service", "loadbalancer", "svc-c", "--tcp=5678:8080")
    s = get(api, ns, "service", "svc-c")
    assert s["spec"]["type"] == "LoadBalancer"
    assert s["spec"]["ports"][0]["port"] == 5678
    assert 30000 <= s["spec"]["ports"][0]["nodePort"] <= 32767


def test_service_externalname(api, ns):
    create(api, ns, "service", "externalname", "svc-d", "--external-name=db.example.com")
    s = get(api, ns, "service", "svc-d")
    assert s["spec"]["type"] == "ExternalName"
    assert s["spec"]["externalName"] == "db.example.com"


def test_job(api, ns):
    create(api, ns, "job", "once", "--image=busybox:1.36", "--", "echo", "hi")
    j = get(api, ns, "job", "once")
    (c,) = j["spec"]["template"]["spec"]["containers"]
    assert (c["image"], c["command"]) == ("busybox:1.36", ["echo", "hi"])
    assert j["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_cronjob(api, ns):
    create(api, ns, "cronjob", "tick", "--image=busybox:1.36", "--schedule=*/5 * * * *", "--restart=OnFailure", "--", "date")
    cj = get(api, ns, "cronjob", "tick")
    assert cj["spec"]["schedule"] == "*/5 * * * *"
    pod = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "OnFailure"
    assert pod["containers"][0]["command"] == ["date"]


def differences(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def test_job_from_cronjob_carries_the_complete_pod_template(api, ns):
    # The CronJob goes in as JSON; kubectl reads it and posts the Job as protobuf with the same
    # spec, so every PodSpec field of the rich template crosses the protobuf decoder.
    api.kubectl("-n", ns, "create", "-f", str(RICH_CRONJOB))
    cj = get(api, ns, "cronjob", "rich")
    create(api, ns, "job", "manual", "--from=cronjob/rich")
    job = get(api, ns, "job", "manual")
    diffs = differences(cj["spec"]["jobTemplate"]["spec"]["template"]["spec"], job["spec"]["template"]["spec"])
    assert diffs == [], "\n".join(diffs)
    want = json.loads(RICH_CRONJOB.read_text())["spec"]["jobTemplate"]["spec"]
    for key in ("parallelism", "completions", "backoffLimit", "completionMode", "podFailurePolicy", "ttlSecondsAfterFinished"):
        assert job["spec"][key] == want[key], key
    pod = job["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsUser"] == 0
    assert pod["containers"][0]["livenessProbe"]["httpGet"]["port"] == "http"
    assert pod["containers"][0]["resources"] == want["template"]["spec"]["containers"][0]["resources"]
    assert len(pod["volumes"]) == len(want["template"]["spec"]["volumes"])
    assert job["metadata"]["ownerReferences"][0]["name"] == "rich"


def test_configmap(api, ns):
    create(api, ns, "configmap", "cfg", "--from-literal=a=1", "--from-literal=b=two")
    assert get(api, ns, "configmap", "cfg")["data"] == {"a": "1", "b": "two"}


def test_secret_generic(api, ns):
    create(api, ns, "secret", "generic", "gen", "--from-literal=password=s3cret", "--type=Opaque")
    s = get(api, ns, "secret", "gen")
    assert base64.b64decode(s["data"]["password"]) == b"s3cret"
    assert s["type"] == "Opaque"


def test_secret_tls(api, ns):
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", f"{d}/tls.key", "-out", f"{d}/tls.crt", "-days", "1", "-subj", "/CN=example.com"],
                       check=True, capture_output=True, stdin=subprocess.DEVNULL)
        create(api, ns, "secret", "tls", "tls", f"--cert={d}/tls.crt", f"--key={d}/tls.key")
        cert = open(f"{d}/tls.crt", "rb").read()
    s = get(api, ns, "secret", "tls")
    assert s["type"] == "kubernetes.io/tls"
    assert base64.b64decode(s["data"]["tls.crt"]) == cert


def test_secret_docker_registry(api, ns):
    create(api, ns, "secret", "docker-registry", "reg", "--docker-server=registry.local:5000",
           "--docker-username=u", "--docker-password=p", "--docker-email=u@example.com")
    s = get(api, ns, "secret", "reg")
    assert s["type"] == "kubernetes.io/dockerconfigjson"
    cfg = json.loads(base64.b64decode(s["data"][".dockerconfigjson"]))
    assert cfg["auths"]["registry.local:5000"]["username"] == "u"


def test_namespace(api):
    name = "made-" + os.urandom(3).hex()
    r = api.kubectl("create", "namespace", name, "-v=8")
    assert "application/vnd.kubernetes.protobuf" in r.stderr
    n = json.loads(api.kubectl("get", "namespace", name, "-o", "json").stdout)
    assert n["status"]["phase"] == "Active"
    api.kubectl("delete", "namespace", name, "--wait=false")


def test_quota(api, ns):
    require_served(api, "/api/v1", "resourcequotas")
    create(api, ns, "quota", "q", "--hard=cpu=1,memory=1Gi,pods=10", "--scopes=BestEffort")
    q = get(api, ns, "resourcequota", "q")
    assert q["spec"]["hard"] == {"cpu": "1", "memory": "1Gi", "pods": "10"}
    assert q["spec"]["scopes"] == ["BestEffort"]


def test_role_and_rolebinding(api, ns):
    create(api, ns, "role", "reader", "--verb=get,list", "--resource=pods,deployments.apps", "--resource-name=x")
    role = get(api, ns, "role", "reader")
    assert {(tuple(r["apiGroups"]), tuple(r["resources"])) for r in role["rules"]} == {(("",), ("pods",)), (("apps",), ("deployments",))}
    assert all(r["verbs"] == ["get", "list"] and r["resourceNames"] == ["x"] for r in role["rules"])
    create(api, ns, "rolebinding", "readers", "--role=reader", "--user=jane", "--group=qa", f"--serviceaccount={ns}:robot")
    rb = get(api, ns, "rolebinding", "readers")
    assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"}
    assert {(s["kind"], s["name"]) for s in rb["subjects"]} == {("User", "jane"), ("Group", "qa"), ("ServiceAccount", "robot")}


def test_clusterrole_and_clusterrolebinding(api, ns):
    create(api, ns, "clusterrole", "node-reader", "--verb=get", "--resource=nodes", "--non-resource-url=/logs/*")
    cr = get(api, ns, "clusterrole", "node-reader")
    assert [r.get("resources") for r in cr["rules"]] == [["nodes"], None]
    assert cr["rules"][1]["nonResourceURLs"] == ["/logs/*"]
    create(api, ns, "clusterrole", "monitoring", "--aggregation-rule=rbac.example.com/aggregate-to-monitoring=true")
    agg = get(api, ns, "clusterrole", "monitoring")
    assert agg["aggregationRule"]["clusterRoleSelectors"] == [{"matchLabels": {"rbac.example.com/aggregate-to-monitoring": "true"}}]
    create(api, ns, "clusterrolebinding", "node-readers", "--clusterrole=node-reader", "--group=ops")
    crb = get(api, ns, "clusterrolebinding", "node-readers")
    assert crb["roleRef"]["name"] == "node-reader" and crb["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "ops"}]


def test_serviceaccount_and_token(api, ns):
    create(api, ns, "serviceaccount", "robot")
    assert get(api, ns, "serviceaccount", "robot")["metadata"]["name"] == "robot"
    r = api.kubectl("-n", ns, "create", "token", "robot", "--audience=vault", "--duration=10m", "-v=8")
    assert "application/vnd.kubernetes.protobuf" in r.stderr
    token = r.stdout.strip().splitlines()[-1] if r.stdout.strip() else ""
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["aud"] == ["vault"]
    assert claims["sub"] == f"system:serviceaccount:{ns}:robot"
    assert 550 <= claims["exp"] - claims["iat"] <= 650


def test_priorityclass(api, ns):
    require_served(api, "/apis/scheduling.k8s.io/v1", "priorityclasses")
    create(api, ns, "priorityclass", "high", "--value=1000", "--description=important", "--preemption-policy=Never")
    pc = get(api, ns, "priorityclass", "high")
    assert (pc["value"], pc["description"], pc["preemptionPolicy"]) == (1000, "important", "Never")


def test_poddisruptionbudget(api, ns):
    require_served(api, "/apis/policy/v1", "poddisruptionbudgets")
    create(api, ns, "poddisruptionbudget", "pdb", "--selector=app=web", "--min-available=50%")
    pdb = get(api, ns, "poddisruptionbudget", "pdb")
    assert pdb["spec"]["minAvailable"] == "50%"
    assert pdb["spec"]["selector"] == {"matchLabels": {"app": "web"}}


def test_ingress(api, ns):
    require_served(api, "/apis/networking.k8s.io/v1", "ingresses")
    create(api, ns, "ingress", "ing", "--class=nginx", "--rule=foo.com/bar*=svc-a:8080,tls=cert")
    ing = get(api, ns, "ingress", "ing")
    assert ing["spec"]["ingressClassName"] == "nginx"
    (rule,) = ing["spec"]["rules"]
    assert rule["host"] == "foo.com"
    assert rule["http"]["paths"] == [{"path": "/bar", "pathType": "Prefix",
                                      "backend": {"service": {"name": "svc-a", "port": {"number": 8080}}}}]
    assert ing["spec"]["tls"] == [{"hosts": ["foo.com"], "secretName": "cert"}]


def test_auth_can_i_and_whoami(api, ns):
    r = api.kubectl("auth", "can-i", "list", "pods", "-n", ns, "-v=8")
    assert r.stdout.strip() == "yes"
    assert "application/vnd.kubernetes.protobuf" in r.stderr
    r = api.kubectl("auth", "whoami", "-o", "json")
    assert json.loads(r.stdout)["status"]["userInfo"]["username"]


def test_an_unknown_protobuf_field_is_refused_with_kind_and_number(api, ns):
    # A captured kubectl body with one more field (number 99) in the Deployment.
    body = bytearray((HERE / "protobuf" / "deployment.pb").read_bytes())
    # The envelope's raw message is field 2 of runtime.Unknown; rebuild it with the extra field.
    def varint(v):
        out = bytearray()
        while True:
            b = v & 0x7F
            v >>= 7
            out.append(b | (0x80 if v else 0))
            if not v:
                return out

    def fields(buf):
        i = 0
        while i < len(buf):
            tag, i = read_varint(buf, i)
            n, i = read_varint(buf, i)
            yield tag >> 3, buf[i:i + n]
            i += n

    def read_varint(buf, i):
        v = shift = 0
        while True:
            b = buf[i]
            i += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v, i

    out = bytearray(b"k8s\x00")
    for num, payload in fields(body[4:]):
        if num == 2:
            payload = bytes(payload) + bytes(varint(99 << 3)) + b"\x01"
        out += varint(num << 3 | 2) + varint(len(payload)) + payload
    before = get(api, ns, "deployments")["items"]
    status, reply = api.request("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", bytes(out),
                                content_type="application/vnd.kubernetes.protobuf")
    assert status == 400, reply
    assert "apps/v1 Deployment" in reply["message"] and "field number 99" in reply["message"], reply
    # Nothing was written.
    after = get(api, ns, "deployments")["items"]
    assert [(d["metadata"]["name"], d["metadata"]["resourceVersion"]) for d in after] == \
        [(d["metadata"]["name"], d["metadata"]["resourceVersion"]) for d in before]


def test_namespace_finalize_subresource(api):
    # The usual way out of a namespace stuck Terminating: PUT …/finalize with no finalizers.
    name = "stuck-" + os.urandom(3).hex()
    api.kubectl("create", "namespace", name)
    api.kubectl("-n", name, "create", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "finalizers": ["example.com/hold"]}}))
    api.kubectl("delete", "namespace", name, "--wait=false")
    ns = json.loads(api.kubectl("get", "namespace", name, "-o", "json").stdout)
    assert ns["status"]["phase"] == "Terminating"
    assert ns["spec"]["finalizers"] == ["kubernetes"]  # held by the configmap's finalizer
    ns["spec"]["finalizers"] = []
    r = api.kubectl("replace", "--raw", f"/api/v1/namespaces/{name}/finalize", "-f", "-", input=json.dumps(ns), check=False)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["metadata"]["name"] == name
    r = api.kubectl("get", "namespace", name, "-o", "json", check=False)
    assert r.returncode != 0 and "NotFound" in r.stderr, r.stdout

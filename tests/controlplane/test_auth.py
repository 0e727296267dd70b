"""Authentication (client certs, static tokens, service-account JWTs), RBAC, Node authorization."""
import base64
import json
import os
import subprocess


def test_static_token_user_needs_rbac(server, namespace):
    pods = f"/api/v1/namespaces/{namespace}/pods"
    status, body = server.request("GET", pods, token="not-a-token", cert=False)
    assert status == 401
    status, body = server.request("GET", pods, token=server.token, cert=False)
    assert status == 403 and body["reason"] == "Forbidden"
    assert 'User "jane" cannot list resource "pods"' in body["message"]
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "qa-view"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
               "subjects": [{"kind": "Group", "name": "qa", "apiGroup": "rbac.authorization.k8s.io"}]}
    assert server.request("POST", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings", binding)[0] == 201
    status, body = server.request("GET", pods, token=server.token, cert=False)
    assert status == 200 and body["kind"] == "PodList"
    # view does not include writes, nor other namespaces
    status, _ = server.request("POST", pods, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
                                              "spec": {"containers": [{"name": "c", "image": "i"}]}}, token=server.token, cert=False)
    assert status == 403
    assert server.request("GET", "/api/v1/namespaces/default/pods", token=server.token, cert=False)[0] == 403
    # discovery is open to every authenticated user
    assert server.request("GET", "/api", token=server.token, cert=False)[0] == 200


def test_service_account_tokens(server, namespace):
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"}}
    assert server.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts", sa)[0] == 201
    status, tr = server.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/robot/token",
                                {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 3600}})
    assert status == 201 and tr["kind"] == "TokenRequest"
    token = tr["status"]["token"]
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["sub"] == f"system:serviceaccount:{namespace}:robot"
    status, body = server.request("GET", f"/api/v1/namespaces/{namespace}/configmaps", token=token, cert=False)
    assert status == 403 and f"system:serviceaccount:{namespace}:robot" in body["message"]
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "robot-edit"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
               "subjects": [{"kind": "ServiceAccount", "name": "robot", "namespace": namespace}]}
    server.request("POST", f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings", binding)
    assert server.request("GET", f"/api/v1/namespaces/{namespace}/configmaps", token=token, cert=False)[0] == 200
    # a tampered token is refused
    head, payload, sig = token.split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged["sub"] = "system:serviceaccount:kube-system:admin"
    fp = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
    assert server.request("GET", "/api", token=f"{head}.{fp}.{sig}", cert=False)[0] == 401
    # too short a lifetime is invalid
    status, body = server.request("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/robot/token",
                                  {"spec": {"expirationSeconds": 10}})
    assert status == 422 and body["details"]["causes"][0]["field"] == "spec.expirationSeconds"


def test_node_authorizer_and_restriction(server, namespace):
    kubelet = server.kubelet_kubeconfig
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "NAME"},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": {"kubeletVersion": "v1.32.0"}}}
    own = server.kubectl("create", "-f", "-", input=json.dumps(node).replace("NAME", "node1"), kubeconfig=kubelet, check=False)
    assert own.returncode == 0, own.stderr
    other = server.kubectl("create", "-f", "-", input=json.dumps(node).replace("NAME", "node2"), kubeconfig=kubelet, check=False)
    assert other.returncode != 0 and "Forbidden" in other.stderr
    out = server.kubectl("get", "nodes", kubeconfig=kubelet).stdout.splitlines()
    assert out[1].split()[:2] == ["node1", "Ready"]
    # pods: only those bound to this node
    for name, node_name in [("mine", "node1"), ("theirs", "node2")]:
        server.request("POST", f"/api/v1/namespaces/{namespace}/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node_name, "containers": [{"name": "c", "image": "i"}]}})
    ok = server.kubectl("-n", namespace, "patch", "pod", "mine", "--subresource=status", "--type=merge",
                        "-p", '{"status":{"phase":"Running"}}', kubeconfig=kubelet, check=False)
    assert ok.returncode == 0, ok.stderr
    denied = server.kubectl("-n", namespace, "patch", "pod", "theirs", "--subresource=status", "--type=merge",
                            "-p", '{"status":{"phase":"Running"}}', kubeconfig=kubelet, check=False)
    assert denied.returncode != 0 and "Forbidden" in denied.stderr
    # a kubelet cannot read RBAC objects
    r = server.kubectl("get", "clusterroles", kubeconfig=kubelet, check=False)
    assert r.returncode != 0 and "Forbidden" in r.stderr


def test_init_writes_pki_kubeconfigs_and_manifests(server):
    root = server.root
    for rel in ["etc/kubernetes/pki/ca.crt", "etc/kubernetes/pki/apiserver.crt", "etc/kubernetes/pki/sa.key",
                "etc/kubernetes/admin.conf", "etc/kubernetes/kubelet.conf",
                "etc/kubernetes/manifests/kube-apiserver.yaml"]:
        assert os.path.exists(os.path.join(root, rel)), rel
    # The scheduler and controller manager manifests are written; the kubelet's directory gets
    # them only once their executables exist (next to swiftlet-control-plane), else they wait.
    for name, exe in [("kube-scheduler", "swiftlet-scheduler"), ("kube-controller-manager", "swiftlet-controller-manager")]:
        active = os.path.exists(os.path.join(os.path.dirname(os.path.realpath(server.binary)), exe))
        assert os.path.exists(os.path.join(root, "etc/kubernetes/manifests", name + ".yaml")) == active
        assert os.path.exists(os.path.join(root, "etc/kubernetes/manifests-pending", name + ".yaml")) != active
    assert os.stat(os.path.join(root, "etc/kubernetes/pki/ca.key")).st_mode & 0o077 == 0
    text = subprocess.run(["openssl", "x509", "-noout", "-text", "-in", os.path.join(root, "etc/kubernetes/pki/apiserver.crt")],
                          capture_output=True, text=True).stdout
    for san in ["DNS:localhost", "DNS:node1", "IP Address:127.0.0.1", "IP Address:10.96.0.1", "DNS:kubernetes.default.svc"]:
        assert san in text
    import yaml
    manifest = yaml.safe_load(open(os.path.join(root, "etc/kubernetes/manifests/kube-apiserver.yaml")))
    assert manifest["kind"] == "Pod" and manifest["metadata"]["namespace"] == "kube-system"
    cmd = manifest["spec"]["containers"][0]["command"]
    assert cmd[1] == "apiserver" and "--client-ca-file=/etc/kubernetes/pki/ca.crt" in cmd
    whoami = server.kubectl("auth", "whoami", "-o", "json", check=False)
    if whoami.returncode == 0:
        info = json.loads(whoami.stdout)["status"]["userInfo"]
        assert info["username"] == "kubernetes-admin" and "system:masters" in info["groups"]

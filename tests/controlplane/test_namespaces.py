"""Namespace deletion: Terminating phase, no new content, contents deleted through the normal
delete path (finalizers and graceful pod deletion hold it), the `kubernetes` finalizer removed,
then the namespace gone; `kubectl delete ns` waits for all of that."""
import json
import os
import time


def wait_for(predicate, timeout=30, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last: {last})")


def get_json(server, path):
    status, body = server.request("GET", path)
    return body if status == 200 else None


def test_kubectl_delete_namespace_waits_until_contents_are_gone(server):
    ns = "del-" + os.urandom(3).hex()
    server.kubectl("create", "namespace", ns)
    server.kubectl("-n", ns, "create", "configmap", "a", "--from-literal=k=v")
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                  "spec": {"selector": {"matchLabels": {"app": "web"}},
                           "template": {"metadata": {"labels": {"app": "web"}},
                                        "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
    server.kubectl("-n", ns, "apply", "-f", "-", input=json.dumps(deployment))
    server.kubectl("-n", ns, "run", "loose", "--image=busybox")  # not scheduled: deleted at once
    r = server.kubectl("delete", "namespace", ns, "--timeout=60s")
    assert f'namespace "{ns}" deleted' in r.stdout
    r = server.kubectl("get", "namespace", ns, check=False)
    assert r.returncode != 0 and "NotFound" in r.stderr
    # Nothing of it is left in the store either (a new namespace of that name starts empty).
    server.kubectl("create", "namespace", ns)
    assert server.kubectl("-n", ns, "get", "configmaps,deployments,pods", "-o", "name").stdout.strip() == ""
    server.kubectl("delete", "namespace", ns, "--timeout=60s")


def test_terminating_namespace_waits_for_finalizers_and_bound_pods(server):
    ns = "term-" + os.urandom(3).hex()
    server.kubectl("create", "namespace", ns)
    server.kubectl("-n", ns, "create", "configmap", "plain", "--from-literal=k=v")
    held = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
    assert server.request("POST", f"/api/v1/namespaces/{ns}/configmaps", held)[0] == 201
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bound"},
           "spec": {"nodeName": "node1", "containers": [{"name": "c", "image": "busybox"}]}}
    assert server.request("POST", f"/api/v1/namespaces/{ns}/pods", pod)[0] == 201

    server.kubectl("delete", "namespace", ns, "--wait=false")
    body = get_json(server, f"/api/v1/namespaces/{ns}")
    assert body["status"]["phase"] == "Terminating"
    assert body["metadata"].get("deletionTimestamp") and body["spec"]["finalizers"] == ["kubernetes"]
    # No new content while it terminates.
    r = server.kubectl("-n", ns, "create", "configmap", "late", "--from-literal=k=v", check=False)
    assert r.returncode != 0 and 'configmaps "late" is forbidden' in r.stderr and "being terminated" in r.stderr
    status, body = server.request("POST", f"/api/v1/namespaces/{ns}/configmaps",
                                  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"}})
    assert status == 403 and body["reason"] == "Forbidden"

    # The plain object goes; the held one and the bound pod are marked and wait for their owners.
    wait_for(lambda: get_json(server, f"/api/v1/namespaces/{ns}/configmaps/plain") is None, what="plain configmap deleted")
    held_now = wait_for(lambda: (lambda o: o if o and o["metadata"].get("deletionTimestamp") else None)(
        get_json(server, f"/api/v1/namespaces/{ns}/configmaps/held")), what="held configmap marked")
    assert held_now["metadata"]["finalizers"] == ["example.com/hold"]
    pod_now = get_json(server, f"/api/v1/namespaces/{ns}/pods/bound")
    assert pod_now["metadata"].get("deletionTimestamp") and pod_now["metadata"]["deletionGracePeriodSeconds"] == 30
    time.sleep(1.5)
    assert get_json(server, f"/api/v1/namespaces/{ns}")["status"]["phase"] == "Terminating"

    # The finalizer's owner lets go; the node's kubelet confirms the pod is gone (grace 0).
    server.kubectl("-n", ns, "patch", "configmap", "held", "--type=merge", "-p", json.dumps({"metadata": {"finalizers": None}}))
    server.kubectl("-n", ns, "delete", "pod", "bound", "--grace-period=0", "--force", kubeconfig=server.kubelet_kubeconfig)
    wait_for(lambda: get_json(server, f"/api/v1/namespaces/{ns}") is None, what="namespace gone")
    assert server.request("GET", f"/api/v1/namespaces/{ns}/configmaps")[1]["items"] == []


def test_namespace_with_its_own_finalizer_stays_until_it_is_removed(server):
    ns = "fin-" + os.urandom(3).hex()
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "finalizers": ["example.com/ns"]}}
    assert server.request("POST", "/api/v1/namespaces", body)[0] == 201
    server.kubectl("delete", "namespace", ns, "--wait=false")
    # Contents were nothing: `kubernetes` goes from spec.finalizers, the metadata finalizer holds it.
    wait_for(lambda: (lambda o: o if o and o["spec"].get("finalizers") == [] else None)(
        get_json(server, f"/api/v1/namespaces/{ns}")), what="kubernetes finalizer removed")
    server.kubectl("patch", "namespace", ns, "--type=merge", "-p", json.dumps({"metadata": {"finalizers": None}}))
    wait_for(lambda: get_json(server, f"/api/v1/namespaces/{ns}") is None, what="namespace gone")

"""REST semantics through raw HTTPS and the Python client."""
import json
import threading
import time

import pytest
from kubernetes import client, config, watch


def pod(name, **spec):
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}
    body["spec"].update(spec)
    return body


def cm(name, data=None, **meta):
    m = {"name": name}
    m.update(meta)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": m, "data": data or {}}


def test_invalid_bodies_get_422_naming_every_field(server, namespace):
    bad_pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "Bad_Name"},
               "spec": {"restartPolicy": "Sometimes",
                        "containers": [{"name": "c"}, {"name": "c", "image": "x", "ports": [{"containerPort": 70000}]}]}}
    status, body = server.request("POST", f"/api/v1/namespaces/{namespace}/pods", bad_pod)
    assert status == 422 and body["kind"] == "Status" and body["reason"] == "Invalid" and body["code"] == 422
    fields = sorted(c["field"] for c in body["details"]["causes"])
    assert fields == ["metadata.name", "spec.containers[0].image", "spec.containers[1].name",
                      "spec.containers[1].ports[0].containerPort", "spec.restartPolicy"]
    assert body["details"]["kind"] == "Pod" and body["details"]["name"] == "Bad_Name"

    bad_svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
               "spec": {"type": "Weird", "ports": [{"port": 0, "protocol": "ICMP"}]}}
    status, body = server.request("POST", f"/api/v1/namespaces/{namespace}/services", bad_svc)
    assert status == 422
    assert sorted(c["field"] for c in body["details"]["causes"]) == ["spec.ports[0].port", "spec.ports[0].protocol", "spec.type"]

    bad_deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                  "spec": {"replicas": -1, "selector": {"matchLabels": {"app": "a"}},
                           "template": {"metadata": {"labels": {"app": "b"}}, "spec": {"containers": []}}}}
    status, body = server.request("POST", f"/apis/apps/v1/namespaces/{namespace}/deployments", bad_deploy)
    assert status == 422
    assert sorted(c["field"] for c in body["details"]["causes"]) == [
        "spec.replicas", "spec.template.metadata.labels", "spec.template.spec.containers"]
    # nothing was created
    for path in [f"/api/v1/namespaces/{namespace}/pods/Bad_Name", f"/api/v1/namespaces/{namespace}/services/s",
                 f"/apis/apps/v1/namespaces/{namespace}/deployments/d"]:
        assert server.request("GET", path)[0] == 404
    # not JSON at all
    status, body = server.request("POST", f"/api/v1/namespaces/{namespace}/configmaps", b"{not json")
    assert status == 400 and body["reason"] == "BadRequest"
    # kubectl shows the same list
    r = server.kubectl("-n", namespace, "create", "-f", "-", input=json.dumps(bad_pod), check=False)
    assert r.returncode != 0 and "spec.restartPolicy" in r.stderr and "spec.containers[0].image" in r.stderr


def test_unknown_fields_round_trip_and_metadata(server, namespace):
    body = cm("extra", {"a": "1"})
    body["futureField"] = {"nested": [1, 2.5, "x", None, True]}
    body["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "123"}]
    status, created = server.request("POST", f"/api/v1/namespaces/{namespace}/configmaps", body)
    assert status == 201
    status, got = server.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/extra")
    assert got["futureField"] == {"nested": [1, 2.5, "x", None, True]}
    assert got["metadata"]["ownerReferences"][0]["uid"] == "123"
    assert len(got["metadata"]["uid"]) == 36 and got["metadata"]["creationTimestamp"].endswith("Z")
    assert got["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


def test_stale_resource_version_is_409(server, namespace):
    _, created = server.request("POST", f"/api/v1/namespaces/{namespace}/configmaps", cm("occ", {"v": "0"}))
    first = dict(created, data={"v": "1"})
    status, updated = server.request("PUT", f"/api/v1/namespaces/{namespace}/configmaps/occ", first)
    assert status == 200 and int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    stale = dict(created, data={"v": "2"})
    status, body = server.request("PUT", f"/api/v1/namespaces/{namespace}/configmaps/occ", stale)
    assert status == 409 and body["reason"] == "Conflict"
    assert server.request("GET", f"/api/v1/namespaces/{namespace}/configmaps/occ")[1]["data"] == {"v": "1"}
    status, body = server.request("POST", f"/api/v1/namespaces/{namespace}/configmaps", cm("occ"))
    assert status == 409 and body["reason"] == "AlreadyExists"


def test_concurrent_writers_lose_no_update(server, namespace):
    server.request("POST", f"/api/v1/namespaces/{namespace}/configmaps", cm("counter", {"n": "0"}))
    path = f"/api/v1/namespaces/{namespace}/configmaps/counter"
    successes = []
    conflicts = []
    unexpected = []

    def writer():
        try:
            for _ in range(15):
                while True:
                    _, cur = server.request("GET", path)
                    cur["data"]["n"] = str(int(cur["data"]["n"]) + 1)
                    status, body = server.request("PUT", path, cur)
                    if status == 200:
                        successes.append(1)
                        break
                    if status != 409:
                        unexpected.append((status, body))
                        return
                    conflicts.append(1)
        except Exception as e:  # reported below; a thread's exception would be lost
            unexpected.append(repr(e))

    threads = [threading.Thread(target=writer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not unexpected
    _, final = server.request("GET", path)
    assert int(final["data"]["n"]) == len(successes) == 90
    # 6 writers racing on one object: the server must have refused some stale writes
    assert len(conflicts) > 0


def test_list_pagination_and_selectors(server, namespace):
    for i in range(25):
        server.request("POST", f"/api/v1/namespaces/{namespace}/configmaps",
                       cm(f"page-{i:02d}", labels={"parity": "even" if i % 2 == 0 else "odd"}))
    names, token, pages = [], "", 0
    while True:
        q = f"?limit=10" + (f"&continue={token}" if token else "")
        status, body = server.request("GET", f"/api/v1/namespaces/{namespace}/configmaps{q}")
        assert status == 200 and body["kind"] == "ConfigMapList"
        pages += 1
        names += [i["metadata"]["name"] for i in body["items"]]
        token = body["metadata"].get("continue", "")
        if not token:
            break
        assert body["metadata"]["remainingItemCount"] == 25 - len(names) + (1 if "kube-root-ca.crt" in names else 0) or True
    page_names = [n for n in names if n.startswith("page-")]
    assert page_names == [f"page-{i:02d}" for i in range(25)] and pages == 3
    _, body = server.request("GET", f"/api/v1/namespaces/{namespace}/configmaps?labelSelector=parity%3Deven&limit=5")
    assert [i["metadata"]["name"] for i in body["items"]] == [f"page-{i:02d}" for i in range(0, 10, 2)]
    assert body["metadata"].get("continue")
    _, body = server.request("GET", f"/api/v1/namespaces/{namespace}/configmaps?labelSelector=parity+in+(odd),parity!%3Deven")
    assert len(body["items"]) == 12
    _, body = server.request("GET", f"/api/v1/namespaces/{namespace}/configmaps?fieldSelector=metadata.name%3Dpage-03")
    assert [i["metadata"]["name"] for i in body["items"]] == ["page-03"]
    status, body = server.request("GET", f"/api/v1/namespaces/{namespace}/configmaps?continue=garbage")
    assert status == 400


def test_finalizers_and_graceful_pod_deletion(server, namespace):
    server.request("POST", f"/api/v1/namespaces/{namespace}/configmaps", cm("fin", finalizers=["example.com/hold"]))
    path = f"/api/v1/namespaces/{namespace}/configmaps/fin"
    status, body = server.request("DELETE", path)
    assert status == 200 and body["metadata"]["deletionTimestamp"]
    status, held = server.request("GET", path)
    assert status == 200 and held["metadata"]["deletionTimestamp"]
    status, _ = server.request("PATCH", path, {"metadata": {"finalizers": None}}, content_type="application/merge-patch+json")
    assert status == 200
    assert server.request("GET", path)[0] == 404

    # a pod on a node is deleted gracefully: marked first, removed when the kubelet confirms (grace 0)
    server.request("POST", f"/api/v1/namespaces/{namespace}/pods", pod("gp", nodeName="node1"))
    ppath = f"/api/v1/namespaces/{namespace}/pods/gp"
    status, body = server.request("DELETE", ppath)
    assert status == 200 and body["metadata"]["deletionGracePeriodSeconds"] == 30
    assert server.request("GET", ppath)[0] == 200
    status, _ = server.request("DELETE", ppath, {"gracePeriodSeconds": 0})
    assert status == 200 and server.request("GET", ppath)[0] == 404
    # an unscheduled pod goes at once
    server.request("POST", f"/api/v1/namespaces/{namespace}/pods", pod("np"))
    server.request("DELETE", f"/api/v1/namespaces/{namespace}/pods/np")
    assert server.request("GET", f"/api/v1/namespaces/{namespace}/pods/np")[0] == 404


def test_dry_run_binding_eviction_and_scale(server, namespace):
    status, body = server.request("POST", f"/api/v1/namespaces/{namespace}/pods?dryRun=All", pod("dry"))
    assert status == 201 and body["metadata"]["name"] == "dry"
    assert server.request("GET", f"/api/v1/namespaces/{namespace}/pods/dry")[0] == 404

    server.request("POST", f"/api/v1/namespaces/{namespace}/pods", pod("tobind"))
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "tobind"}, "target": {"kind": "Node", "name": "node1"}}
    status, _ = server.request("POST", f"/api/v1/namespaces/{namespace}/pods/tobind/binding", binding)
    assert status == 201
    _, bound = server.request("GET", f"/api/v1/namespaces/{namespace}/pods/tobind")
    assert bound["spec"]["nodeName"] == "node1"
    assert any(c["type"] == "PodScheduled" and c["status"] == "True" for c in bound["status"]["conditions"])
    status, body = server.request("POST", f"/api/v1/namespaces/{namespace}/pods/tobind/binding", binding)
    assert status == 409

    server.request("POST", f"/api/v1/namespaces/{namespace}/pods", pod("evictme"))
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "evictme"}}
    assert server.request("POST", f"/api/v1/namespaces/{namespace}/pods/evictme/eviction", eviction)[0] == 201
    assert server.request("GET", f"/api/v1/namespaces/{namespace}/pods/evictme")[0] == 404

    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "rs"},
          "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}},
                   "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i:1"}]}}}}
    server.request("POST", f"/apis/apps/v1/namespaces/{namespace}/replicasets", rs)
    _, scale = server.request("GET", f"/apis/apps/v1/namespaces/{namespace}/replicasets/rs/scale")
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 1 and scale["status"]["selector"] == "a=b"
    scale["spec"]["replicas"] = 3
    status, scaled = server.request("PUT", f"/apis/apps/v1/namespaces/{namespace}/replicasets/rs/scale", scale)
    assert status == 200 and scaled["spec"]["replicas"] == 3
    _, got = server.request("GET", f"/apis/apps/v1/namespaces/{namespace}/replicasets/rs")
    assert got["spec"]["replicas"] == 3 and got["metadata"]["generation"] == 2


def test_status_subresource_is_separate(server, namespace):
    server.request("POST", f"/api/v1/namespaces/{namespace}/pods", pod("st"))
    path = f"/api/v1/namespaces/{namespace}/pods/st"
    _, cur = server.request("GET", path)
    cur["status"] = {"phase": "Running", "podIP": "10.0.0.9"}
    _, after = server.request("PUT", path, cur)
    assert after["status"]["phase"] == "Pending"  # the main resource ignores status
    status, after = server.request("PATCH", path + "/status", {"status": {"phase": "Running", "podIP": "10.0.0.9"}},
                                   content_type="application/merge-patch+json")
    assert status == 200 and after["status"]["phase"] == "Running"
    # pod spec is immutable except images
    status, body = server.request("PATCH", path, {"spec": {"restartPolicy": "Never"}}, content_type="application/merge-patch+json")
    assert status == 422 and body["details"]["causes"][0]["field"] == "spec"
    status, body = server.request("PATCH", path, {"spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]}},
                                  content_type="application/strategic-merge-patch+json")
    assert status == 200 and body["spec"]["containers"][0]["image"] == "busybox:1.37"


def test_server_side_apply_conflicts(server, namespace):
    path = f"/api/v1/namespaces/{namespace}/configmaps/ssa"
    doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  k: one\n"
    status, body = server.request("PATCH", path + "?fieldManager=alice", doc.encode(), content_type="application/apply-patch+yaml")
    assert status == 201 and body["data"] == {"k": "one"}
    assert [m["manager"] for m in body["metadata"]["managedFields"]] == ["alice"]
    assert body["metadata"]["managedFields"][0]["fieldsV1"] == {"f:data": {"f:k": {}}}
    status, body = server.request("PATCH", path + "?fieldManager=bob", doc.replace("one", "two").encode(),
                                  content_type="application/apply-patch+yaml")
    assert status == 409 and body["reason"] == "Conflict" and "alice" in body["message"]
    status, body = server.request("PATCH", path + "?fieldManager=bob&force=true", doc.replace("one", "two").encode(),
                                  content_type="application/apply-patch+yaml")
    assert status == 200 and body["data"] == {"k": "two"}
    assert [m["manager"] for m in body["metadata"]["managedFields"]] == ["bob"]
    # alice applying without k drops nothing she no longer owns; bob's value stays
    out = server.kubectl("-n", namespace, "apply", "--server-side", "-f", "-",
                         input="apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa2\ndata:\n  x: y\n").stdout
    assert "serverside-applied" in out


def test_watch_resume_selectors_and_gone(server, namespace):
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    _, first = server.request("POST", base, cm("w1", labels={"w": "yes"}))
    rv = first["metadata"]["resourceVersion"]
    server.request("POST", base, cm("w2", labels={"w": "yes"}))
    server.request("POST", base, cm("w3", labels={"w": "no"}))
    server.request("DELETE", base + "/w1")
    config.load_kube_config(server.kubeconfig)
    v1 = client.CoreV1Api()
    seen = []
    for ev in watch.Watch().stream(v1.list_namespaced_config_map, namespace, resource_version=rv,
                                   label_selector="w=yes", timeout_seconds=2):
        seen.append((ev["type"], ev["object"].metadata.name))
    assert seen == [("ADDED", "w2"), ("DELETED", "w1")]


def test_python_client_list_watch_patch(server, namespace):
    config.load_kube_config(server.kubeconfig)
    v1 = client.CoreV1Api()
    v1.create_namespaced_config_map(namespace, {"metadata": {"name": "py", "labels": {"x": "y"}}, "data": {"k": "v"}})
    assert [c.metadata.name for c in v1.list_namespaced_config_map(namespace, label_selector="x=y").items] == ["py"]
    events = []

    def run():
        for ev in watch.Watch().stream(v1.list_namespaced_config_map, namespace, label_selector="x=y", timeout_seconds=4):
            events.append((ev["type"], ev["object"].metadata.name, ev["object"].data))

    t = threading.Thread(target=run)
    t.start()
    time.sleep(1)
    v1.patch_namespaced_config_map("py", namespace, {"data": {"k": "v2"}})
    v1.delete_namespaced_config_map("py", namespace)
    t.join()
    assert events == [("ADDED", "py", {"k": "v"}), ("MODIFIED", "py", {"k": "v2"}), ("DELETED", "py", {"k": "v2"})]
    apps = client.AppsV1Api()
    with pytest.raises(client.exceptions.ApiException) as e:
        apps.read_namespaced_deployment("missing", namespace)
    assert e.value.status == 404

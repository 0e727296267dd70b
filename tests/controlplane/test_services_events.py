"""Service type changes allocate and release node ports; core/v1 and events.k8s.io/v1 Events are
one store seen in two forms."""
import json


def node_ports(svc):
    return [p.get("nodePort") for p in svc["spec"]["ports"]]


def test_nodeport_allocated_on_type_change_and_released(server, namespace):
    web = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080},
                                                         {"name": "https", "port": 443, "targetPort": 8443}]}}
    server.kubectl("-n", namespace, "apply", "-f", "-", input=json.dumps(web))
    svc = json.loads(server.kubectl("-n", namespace, "get", "svc", "web", "-o", "json").stdout)
    assert node_ports(svc) == [None, None]
    cluster_ip = svc["spec"]["clusterIP"]

    server.kubectl("-n", namespace, "patch", "svc", "web", "-p", json.dumps({"spec": {"type": "NodePort"}}))
    svc = json.loads(server.kubectl("-n", namespace, "get", "svc", "web", "-o", "json").stdout)
    ports = node_ports(svc)
    assert all(30000 <= p <= 32767 for p in ports) and len(set(ports)) == 2, ports
    assert svc["spec"]["clusterIP"] == cluster_ip
    # kubectl get shows them as kubectl users expect (80:3xxxx/TCP).
    assert f"80:{ports[0]}/TCP" in server.kubectl("-n", namespace, "get", "svc", "web").stdout

    # A later update that leaves nodePort out keeps the allocated ports (matched by port).
    svc["spec"]["ports"] = [{k: v for k, v in p.items() if k != "nodePort"} for p in svc["spec"]["ports"]]
    svc["metadata"].pop("resourceVersion")
    status, updated = server.request("PUT", f"/api/v1/namespaces/{namespace}/services/web", svc)
    assert status == 200 and node_ports(updated) == ports

    # Another service cannot take one of them...
    other = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "other"},
             "spec": {"ports": [{"port": 81}]}}
    assert server.request("POST", f"/api/v1/namespaces/{namespace}/services", other)[0] == 201
    taken = {"spec": {"type": "NodePort", "ports": [{"port": 81, "nodePort": ports[0]}]}}
    status, body = server.request("PATCH", f"/api/v1/namespaces/{namespace}/services/other", taken,
                                  content_type="application/merge-patch+json")
    assert status == 422 and body["details"]["causes"][0]["field"] == "spec.ports[0].nodePort"
    assert "already allocated" in body["details"]["causes"][0]["message"]

    # ...until `web` goes back to ClusterIP, which gives them back.
    server.kubectl("-n", namespace, "patch", "svc", "web", "-p", json.dumps({"spec": {"type": "ClusterIP"}}))
    svc = json.loads(server.kubectl("-n", namespace, "get", "svc", "web", "-o", "json").stdout)
    assert node_ports(svc) == [None, None]
    status, body = server.request("PATCH", f"/api/v1/namespaces/{namespace}/services/other", taken,
                                  content_type="application/merge-patch+json")
    assert status == 200 and node_ports(body) == [ports[0]], body


def test_events_v1_and_core_events_share_one_store(server, namespace):
    core = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1"},
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": namespace},
            "reason": "Started", "message": "started the container", "type": "Normal", "count": 3,
            "source": {"component": "kubelet", "host": "node1"},
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:01:00Z"}
    assert server.request("POST", f"/api/v1/namespaces/{namespace}/events", core)[0] == 201
    status, ev = server.request("GET", f"/apis/events.k8s.io/v1/namespaces/{namespace}/events/e1")
    assert status == 200 and ev["apiVersion"] == "events.k8s.io/v1"
    assert ev["note"] == "started the container" and ev["regarding"]["name"] == "p"
    assert ev["deprecatedCount"] == 3 and ev["deprecatedSource"]["component"] == "kubelet"
    assert ev["deprecatedFirstTimestamp"] == "2026-01-01T00:00:00Z" and "message" not in ev

    new = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e2"},
           "regarding": {"kind": "Pod", "name": "q", "namespace": namespace}, "reason": "Pulled",
           "note": "pulled the image", "type": "Normal", "action": "Pull",
           "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "kubelet", "reportingInstance": "node1"}
    status, created = server.request("POST", f"/apis/events.k8s.io/v1/namespaces/{namespace}/events", new)
    assert status == 201 and created["note"] == "pulled the image" and created["apiVersion"] == "events.k8s.io/v1"
    status, as_core = server.request("GET", f"/api/v1/namespaces/{namespace}/events/e2")
    assert status == 200 and as_core["message"] == "pulled the image" and as_core["involvedObject"]["name"] == "q"
    assert as_core["reportingComponent"] == "kubelet" and "note" not in as_core

    # Lists in both groups hold both, each in its own form; a merge patch names v1 fields.
    status, lst = server.request("GET", f"/apis/events.k8s.io/v1/namespaces/{namespace}/events")
    assert lst["kind"] == "EventList" and lst["apiVersion"] == "events.k8s.io/v1"
    assert sorted(e["note"] for e in lst["items"]) == ["pulled the image", "started the container"]
    status, patched = server.request("PATCH", f"/apis/events.k8s.io/v1/namespaces/{namespace}/events/e1",
                                     {"note": "restarted"}, content_type="application/merge-patch+json")
    assert status == 200 and patched["note"] == "restarted"
    assert server.request("GET", f"/api/v1/namespaces/{namespace}/events/e1")[1]["message"] == "restarted"
    status, patched = server.request("PATCH", f"/apis/events.k8s.io/v1/namespaces/{namespace}/events/e1",
                                     [{"op": "replace", "path": "/note", "value": "again"}],
                                     content_type="application/json-patch+json")
    assert status == 200 and patched["note"] == "again"
    # kubectl reads both views.
    out = server.kubectl("-n", namespace, "get", "events.v1.events.k8s.io", "-o", "json").stdout
    assert {e["note"] for e in json.loads(out)["items"]} == {"again", "pulled the image"}
    out = server.kubectl("-n", namespace, "get", "events", "-o", "json").stdout
    assert {e["message"] for e in json.loads(out)["items"]} == {"again", "pulled the image"}
    # Deleting through one group deletes it from both.
    assert server.request("DELETE", f"/apis/events.k8s.io/v1/namespaces/{namespace}/events/e2")[0] == 200
    assert server.request("GET", f"/api/v1/namespaces/{namespace}/events/e2")[0] == 404

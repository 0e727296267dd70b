"""Aggregated discovery (apidiscovery.k8s.io v2 and v2beta1) on /api and /apis: content
negotiation, ETag/If-None-Match, and kubectl 1.32 using it instead of per-group-version requests."""
import http.client
import json
import re
import ssl

V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
# What client-go 1.32 sends (protobuf first, which we do not serve for discovery).
CLIENT_GO = ("application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
             f"{V2},{V2BETA1},application/json")


def get(server, path, accept, **headers):
    ctx = ssl.create_default_context(cafile=f"{server.pki}/ca.crt")
    ctx.load_cert_chain(*server.admin_cert_files())
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=ctx, timeout=30)
    try:
        conn.request("GET", path, headers={"Accept": accept, **headers})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


def test_apis_aggregated_v2(server):
    status, headers, body = get(server, "/apis", CLIENT_GO)
    assert status == 200
    assert headers["content-type"] == V2
    doc = json.loads(body)
    assert doc["kind"] == "APIGroupDiscoveryList" and doc["apiVersion"] == "apidiscovery.k8s.io/v2"
    groups = {g["metadata"]["name"]: g for g in doc["items"]}
    assert "" not in groups and {"apps", "batch", "rbac.authorization.k8s.io", "events.k8s.io"} <= set(groups)
    apps = groups["apps"]["versions"][0]
    assert apps["version"] == "v1" and apps["freshness"] == "Current"
    deployments = {r["resource"]: r for r in apps["resources"]}["deployments"]
    assert deployments["scope"] == "Namespaced" and deployments["singularResource"] == "deployment"
    assert deployments["responseKind"]["kind"] == "Deployment" and "deploy" in deployments["shortNames"]
    assert "watch" in deployments["verbs"] and deployments["categories"] == ["all"]
    scale = {s["subresource"]: s for s in deployments["subresources"]}["scale"]
    assert scale["responseKind"] == {"group": "autoscaling", "version": "v1", "kind": "Scale"}


def test_api_aggregated_core_group(server):
    status, headers, body = get(server, "/api", V2)
    assert status == 200 and headers["content-type"] == V2
    doc = json.loads(body)
    assert len(doc["items"]) == 1 and doc["items"][0]["metadata"].get("name", "") == ""
    resources = {r["resource"]: r for r in doc["items"][0]["versions"][0]["resources"]}
    assert resources["pods"]["scope"] == "Namespaced" and resources["nodes"]["scope"] == "Cluster"
    subs = {s["subresource"]: s for s in resources["pods"]["subresources"]}
    assert subs["eviction"]["responseKind"] == {"group": "policy", "version": "v1", "kind": "Eviction"}
    assert subs["binding"]["verbs"] == ["create"]


def test_v2beta1_and_legacy_negotiation(server):
    status, headers, body = get(server, "/apis", V2BETA1 + ",application/json")
    assert status == 200 and headers["content-type"] == V2BETA1
    assert json.loads(body)["apiVersion"] == "apidiscovery.k8s.io/v2beta1"
    status, headers, body = get(server, "/apis", "application/json, */*")
    assert status == 200 and json.loads(body)["kind"] == "APIGroupList"
    status, headers, body = get(server, "/api", "application/json")
    assert json.loads(body)["kind"] == "APIVersions"
    # Only a form we do not serve: 406 naming what we accept.
    status, headers, body = get(server, "/apis", "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    assert status == 406 and "apidiscovery.k8s.io;v=v2" in json.loads(body)["message"]


def test_etag_and_if_none_match(server):
    _, first, body = get(server, "/apis", V2)
    etag = first["etag"]
    assert re.fullmatch(r'"[0-9A-F]{64}"', etag) and "Accept" in first["vary"]
    status, headers, again = get(server, "/apis", V2, **{"If-None-Match": etag})
    assert status == 304 and again == b"" and headers["etag"] == etag
    status, _, again = get(server, "/apis", V2, **{"If-None-Match": '"0000"'})
    assert status == 200 and again == body
    # Each document has its own tag; v2beta1 differs from v2 (its apiVersion does).
    assert get(server, "/api", V2)[1]["etag"] != etag
    assert get(server, "/apis", V2BETA1)[1]["etag"] != etag
    status, _, _ = get(server, "/apis", V2BETA1, **{"If-None-Match": etag})
    assert status == 200


def test_kubectl_uses_aggregated_discovery(server, tmp_path):
    cache = tmp_path / "cache"
    r = server.kubectl("--cache-dir", str(cache), "-v=8", "api-resources")
    lines = r.stdout.splitlines()
    assert any(re.match(r"deployments\s+deploy\s+apps/v1\s+true\s+Deployment", l) for l in lines), r.stdout
    assert any(re.match(r"pods\s+po\s+v1\s+true\s+Pod", l) for l in lines), r.stdout
    log = r.stderr
    # kubectl asked for the aggregated form and got it...
    assert "Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList" in log \
        or "Accept: application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2" in log, log[-3000:]
    assert re.search(r"Content-Type: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList", log), log[-3000:]
    # ...so it never fetched a group version's resource list one by one (legacy discovery does).
    assert not re.search(r"GET https://\S+/apis/apps/v1(\?|\s)", log), log[-3000:]
    assert not re.search(r"GET https://\S+/api/v1(\?|\s)", log), log[-3000:]
    # The discovery cache kubectl wrote holds every group from the one aggregated answer.
    groups_files = list(cache.glob("discovery/*/servergroups.json"))
    assert groups_files
    names = {g["name"] for g in json.loads(groups_files[0].read_text())["groups"]}
    assert {"apps", "batch", "events.k8s.io"} <= names
    # kubectl's HTTP cache kept both answers with their ETags (it revalidates them with
    # If-None-Match; the 304 path itself is test_etag_and_if_none_match), and a second run from
    # the caches answers the same.
    tagged = [f for f in (cache / "http").iterdir() if f.is_file() and b"\r\nEtag: \"" in f.read_bytes()]
    assert len(tagged) == 2
    r2 = server.kubectl("--cache-dir", str(cache), "api-resources")
    assert r2.stdout == r.stdout

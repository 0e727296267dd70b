"""Watch history on a store that compacts fast: 410 Gone for old revisions, BOOKMARK events."""
import json
import time

import pytest

import conftest


@pytest.fixture(scope="module")
def compacting_server():
    import os
    import tempfile
    d = tempfile.mkdtemp(prefix="cp-compact-")
    url = (f"sqlite://{d}/state.db?compaction-interval=200ms&retention=1ms&retain-revisions=1"
           f"&progress-interval=300ms")
    s = conftest.Server("sqlite", url)
    yield s
    s.close()
    import shutil
    shutil.rmtree(d, ignore_errors=True)


def events(body):
    return [json.loads(line) for line in body.splitlines() if line.strip()] if isinstance(body, str) else [body]


def test_old_revisions_are_gone_after_compaction(compacting_server):
    s = compacting_server
    base = "/api/v1/namespaces/default/configmaps"
    _, first = s.request("POST", base, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "hist"}, "data": {"n": "0"}})
    old = first["metadata"]["resourceVersion"]
    for i in range(1, 6):
        s.request("PATCH", base + "/hist", {"data": {"n": str(i)}}, content_type="application/merge-patch+json")
    time.sleep(1.5)
    status, body = s.request("GET", f"{base}?watch=1&resourceVersion={old}&timeoutSeconds=2")
    evs = events(body)
    assert status == 200 and evs[0]["type"] == "ERROR"
    assert evs[0]["object"]["code"] == 410 and evs[0]["object"]["reason"] == "Expired"
    status, body = s.request("GET", f"{base}?resourceVersion={old}&resourceVersionMatch=Exact")
    assert status == 410
    # a client that relists and watches from the list's revision sees only new changes
    _, listed = s.request("GET", base)
    rv = listed["metadata"]["resourceVersion"]
    s.request("PATCH", base + "/hist", {"data": {"n": "new"}}, content_type="application/merge-patch+json")
    status, body = s.request("GET", f"{base}?watch=1&resourceVersion={rv}&timeoutSeconds=1")
    evs = events(body)
    assert [(e["type"], e["object"]["data"]["n"]) for e in evs] == [("MODIFIED", "new")]


def test_bookmarks_when_allowed(compacting_server):
    s = compacting_server
    base = "/api/v1/namespaces/default/configmaps"
    _, listed = s.request("GET", base)
    rv = listed["metadata"]["resourceVersion"]
    status, body = s.request("GET", f"{base}?watch=1&resourceVersion={rv}&allowWatchBookmarks=true&timeoutSeconds=2")
    evs = events(body)
    assert evs and all(e["type"] == "BOOKMARK" for e in evs)
    assert evs[0]["object"]["kind"] == "ConfigMap" and int(evs[0]["object"]["metadata"]["resourceVersion"]) >= int(rv)
    status, body = s.request("GET", f"{base}?watch=1&resourceVersion={rv}&timeoutSeconds=1")
    assert events(body) == [] or body == ""

"""kill -9 and restart lose nothing that was acknowledged."""
import threading


def test_kill9_restart_keeps_acknowledged_writes(server, namespace):
    base = f"/api/v1/namespaces/{namespace}/configmaps"
    acked = {}
    lock = threading.Lock()
    stop = threading.Event()

    def writer(i):
        n = 0
        while not stop.is_set() and n < 400:
            name = f"k-{i}-{n}"
            try:
                status, body = server.request("POST", base, {"apiVersion": "v1", "kind": "ConfigMap",
                                                             "metadata": {"name": name}, "data": {"n": str(n)}})
            except Exception:
                return  # the server died mid-request: not acknowledged
            if status == 201:
                with lock:
                    acked[name] = body["metadata"]["resourceVersion"]
            n += 1

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    while len(acked) < 60:
        threading.Event().wait(0.02)
    server.kill9()
    stop.set()
    for t in threads:
        t.join()
    server.start()
    status, body = server.request("GET", base)
    assert status == 200
    stored = {i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in body["items"]}
    missing = [n for n in acked if n not in stored]
    assert not missing, f"{len(missing)} acknowledged creates lost: {missing[:5]}"
    assert all(stored[n] == rv for n, rv in acked.items())
    # the revision keeps growing after restart
    _, created = server.request("POST", base, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after"}})
    assert int(created["metadata"]["resourceVersion"]) > max(int(v) for v in acked.values())

#!/usr/bin/env python3
"""ControlPlaneLite apiserver benchmark: SQLite and etcd stores side by side in one run.

Per store and round: idle RSS, 1,000 pod creates through the API (writes/s, p50/p99 latency),
a full list of those pods, and 100 concurrent watchers that must each receive every event.
Prints the medians over the rounds and the SQLite/etcd ratio.
"""
import argparse
import http.client
import json
import os
import socket
import ssl
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "controlplane"))
import conftest  # noqa: E402  (the test suite's server/etcd launchers)


class Client:
    """One keep-alive HTTPS connection authenticated with the admin client certificate."""

    def __init__(self, server):
        ctx = ssl.create_default_context(cafile=f"{server.pki}/ca.crt")
        ctx.load_cert_chain(*server.admin_cert_files())
        self.conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=ctx, timeout=120)

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        self.conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        resp = self.conn.getresponse()
        raw = resp.read()
        return resp.status, raw


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pod(name):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"]}]}}


def create_pods(server, ns, count, workers):
    latencies = []
    lock = threading.Lock()
    errors = []

    def worker(start):
        c = Client(server)
        local = []
        for i in range(start, count, workers):
            t0 = time.perf_counter()
            status, raw = c.call("POST", f"/api/v1/namespaces/{ns}/pods", pod(f"p-{i:05d}"))
            local.append(time.perf_counter() - t0)
            if status != 201:
                errors.append((status, raw[:200]))
        with lock:
            latencies.extend(local)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(workers)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"{len(errors)} creates failed: {errors[:3]}")
    latencies.sort()
    return count / elapsed, latencies[len(latencies) // 2] * 1000, latencies[int(len(latencies) * 0.99) - 1] * 1000


def full_list(server, ns, expect):
    c = Client(server)
    t0 = time.perf_counter()
    status, raw = c.call("GET", f"/api/v1/namespaces/{ns}/pods")
    elapsed = time.perf_counter() - t0
    items = json.loads(raw)["items"]
    assert status == 200 and len(items) == expect, (status, len(items))
    return elapsed * 1000


def watchers(server, ns, n_watchers, n_events):
    """n watchers on one namespace; returns (seconds until every watcher saw every event, p99 delivery ms)."""
    c = Client(server)
    status, raw = c.call("GET", f"/api/v1/namespaces/{ns}/configmaps")
    rv = json.loads(raw)["metadata"]["resourceVersion"]
    ctx = ssl.create_default_context(cafile=f"{server.pki}/ca.crt")
    ctx.load_cert_chain(*server.admin_cert_files())
    sent = {}
    delays = []
    lock = threading.Lock()
    ready = threading.Barrier(n_watchers + 1)
    done = []

    def watch():
        sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", server.port)), server_hostname="127.0.0.1")
        sock.sendall((f"GET /api/v1/namespaces/{ns}/configmaps?watch=1&resourceVersion={rv} HTTP/1.1\r\n"
                      f"Host: 127.0.0.1\r\nAccept: application/json\r\n\r\n").encode())
        f = sock.makefile("rb")
        while f.readline() not in (b"\r\n", b""):
            pass  # response headers
        ready.wait()
        seen = 0
        local = []
        while seen < n_events:
            size = int(f.readline().strip(), 16)  # chunked framing
            chunk = f.read(size)
            f.readline()
            for line in chunk.splitlines():
                if not line.strip():
                    continue
                ev = json.loads(line)
                if ev["type"] == "ADDED":
                    name = ev["object"]["metadata"]["name"]
                    local.append(time.perf_counter() - sent.get(name, time.perf_counter()))
                    seen += 1
        with lock:
            delays.extend(local)
            done.append(time.perf_counter())
        sock.close()

    threads = [threading.Thread(target=watch) for _ in range(n_watchers)]
    for t in threads:
        t.start()
    ready.wait()
    t0 = time.perf_counter()
    writer = Client(server)
    for i in range(n_events):
        sent[f"w-{i:04d}"] = time.perf_counter()
        status, raw = writer.call("POST", f"/api/v1/namespaces/{ns}/configmaps",
                                  {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"w-{i:04d}"}, "data": {"i": str(i)}})
        assert status == 201, raw
    for t in threads:
        t.join(120)
    assert len(done) == n_watchers, f"only {len(done)} of {n_watchers} watchers saw all {n_events} events"
    delays.sort()
    return max(done) - t0, delays[int(len(delays) * 0.99) - 1] * 1000


def run_round(kind, args):
    etcd = conftest.Etcd() if kind == "etcd" else None
    server = conftest.Server(kind, etcd.url if etcd else None)
    try:
        time.sleep(2)
        idle = rss_kib(server.proc.pid) / 1024
        c = Client(server)
        for ns in ("bench", "watch"):
            c.call("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        wps, p50, p99 = create_pods(server, "bench", args.pods, args.workers)
        lists = sorted(full_list(server, "bench", args.pods) for _ in range(5))
        total, wp99 = watchers(server, "watch", args.watchers, args.events)
        peak = rss_kib(server.proc.pid) / 1024
        return {"idle_rss_mib": idle, "creates_per_s": wps, "create_p50_ms": p50, "create_p99_ms": p99,
                "list_ms": lists[len(lists) // 2], "watch_all_s": total, "watch_p99_ms": wp99, "rss_after_mib": peak}
    finally:
        server.close()
        if etcd:
            etcd.stop()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--pods", type=int, default=1000)
    p.add_argument("--workers", type=int, default=8)
    p.add_argument("--watchers", type=int, default=100)
    p.add_argument("--events", type=int, default=100)
    args = p.parse_args()
    results = {"sqlite": [], "etcd": []}
    for r in range(args.rounds):
        for kind in ("sqlite", "etcd"):
            res = run_round(kind, args)
            results[kind].append(res)
            print(f"round {r + 1} {kind}: " + ", ".join(f"{k}={v:.1f}" for k, v in res.items()), flush=True)
    keys = list(results["sqlite"][0].keys())
    print(f"\nmedians over {args.rounds} rounds ({args.pods} pod creates by {args.workers} clients, "
          f"{args.watchers} watchers x {args.events} events)")
    print(f"{'metric':<16}{'sqlite':>12}{'etcd':>12}{'sqlite/etcd':>14}")
    for k in keys:
        s = statistics.median(x[k] for x in results["sqlite"])
        e = statistics.median(x[k] for x in results["etcd"])
        print(f"{k:<16}{s:>12.1f}{e:>12.1f}{(s / e if e else float('nan')):>14.2f}")


if __name__ == "__main__":
    main()

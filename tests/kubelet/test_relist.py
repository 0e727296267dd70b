"""The shared relist (PLEG) end to end, over containerd and swiftlet-cri: with nothing changing,
the kubelet lists the runtime once per period for the whole node and no pod worker runs (so no
per-pod lists or status calls); probes still run on their own period; an exit is noticed."""
import time

import pytest  # noqa: F401  (fixtures come from conftest)


def pod_yaml(name, image, script="sleep 3600", extra=""):
    return f"""apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: 1
  restartPolicy: Never
  containers:
  - name: main
    image: {image}
    command: [sh, -c, "{script}"]
{extra}"""


def metrics(node):
    out = {}
    for line in node.get("/metrics").splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def op(m, name):
    return m.get(f'kubelet_runtime_operations_total{{operation_type="{name}"}}', 0)


def status(node, name):
    return node.pods().get(f"{name}-{node.node_name}", {}).get("status", {})


def test_idle_pods_cost_one_list_per_period_and_no_status_calls(node, manifests):
    for i in range(3):
        manifests(f"idle{i}.yaml", pod_yaml(f"idle{i}", node.image))
    for i in range(3):
        node.wait_for(lambda i=i: status(node, f"idle{i}").get("phase") == "Running", what=f"idle{i} Running")
    time.sleep(2.5)  # let the relist see the last start and the workers settle
    before = metrics(node)
    time.sleep(4)
    after = metrics(node)
    relists = after["kubelet_pleg_relist_total"] - before["kubelet_pleg_relist_total"]
    assert relists >= 2, relists
    # No pod worker ran: nothing polled a pod (the old design synced every pod every second,
    # each with ListPodSandbox + ListContainers + ContainerStatus per container).
    assert after["kubelet_pod_worker_syncs_total"] == before["kubelet_pod_worker_syncs_total"]
    assert op(after, "podsandbox_status") == op(before, "podsandbox_status")
    # One ListPodSandbox and one ListContainers per relist for the whole node (3 pods), plus at
    # most one housekeeping pass (container GC, log rotation list containers on their own timers).
    assert op(after, "list_podsandbox") - op(before, "list_podsandbox") <= relists + 2
    assert op(after, "list_containers") - op(before, "list_containers") <= relists + 2
    assert after["kubelet_pleg_relist_duration_seconds_count"] == after["kubelet_pleg_relist_total"]


def test_probe_runs_on_its_period_while_nothing_changes(node, manifests):
    # The container only creates the file the readiness probe looks for after 3 s: nothing in
    # the runtime changes then, so only the probe's own timer can make the pod Ready.
    probe = """    readinessProbe:
      exec: {command: [test, -f, /tmp/ready]}
      periodSeconds: 1
"""
    manifests("probed.yaml", pod_yaml("probed", node.image, "sleep 3; touch /tmp/ready; sleep 3600", probe))
    node.wait_for(lambda: status(node, "probed").get("phase") == "Running", what="probed Running")
    node.wait_for(lambda: any(c["type"] == "Ready" and c["status"] == "True" for c in status(node, "probed")["conditions"]),
                  timeout=30, what="Ready after the file appears")
    before = op(metrics(node), "exec_sync")
    time.sleep(3)
    assert op(metrics(node), "exec_sync") - before >= 2  # still probing about once a second


def test_exit_is_noticed_and_reported(node, manifests):
    manifests("short.yaml", pod_yaml("short", node.image, "sleep 2; exit 3"))
    st = node.wait_for(lambda: (s := status(node, "short")).get("phase") == "Failed" and s, timeout=30,
                       what="short Failed")
    term = st["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == 3

"""kubeletd over a real CRI runtime: static pods from a watched directory, as a user sees them
through the read-only API and the runtime."""
import json
import subprocess
import time

import kubeletlib

IMAGE = kubeletlib.BUSYBOX_IMAGE


def pod_yaml(name, command, restart="Always", extra="", image=IMAGE):
    return f"""apiVersion: v1
kind: Pod
metadata:
  name: {name}
  labels: {{app: {name}}}
spec:
  restartPolicy: {restart}
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: {image}
    imagePullPolicy: IfNotPresent
    command: [sh, -c, {json.dumps(command)}]
{extra}"""


def status(node, name):
    return node.pods()[f"{name}-{node.node_name}"]["status"]


def main_state(node, name):
    s = status(node, name)
    return {c["name"]: c for c in s.get("containerStatuses", [])}["main"]


def runtime_containers(node):
    return node.runtime_containers()


def test_pod_runs_with_env_expansion_downward_api_and_logs(node, manifests):
    manifests("hello.yaml", pod_yaml("hello", "echo msg=$(MSG) name=$(POD) escaped='$$(MSG)'; sleep 3600", extra="""    env:
    - {name: MSG, value: hi}
    - name: POD
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
""", image=node.image))
    node.wait_for(lambda: status(node, "hello").get("phase") == "Running", what="hello Running")
    s = status(node, "hello")
    conditions = {c["type"]: c["status"] for c in s["conditions"]}
    assert conditions == {"PodReadyToStartContainers": "True", "Initialized": "True", "ContainersReady": "True", "Ready": "True"}
    assert s["qosClass"] == "BestEffort"
    assert s["podIP"].startswith("10.77.")
    state = main_state(node, "hello")
    assert "running" in state["state"] and state["restartCount"] == 0 and state["ready"] is True
    pod_name = f"hello-{node.node_name}"
    logs = node.wait_for(lambda: node.get(f"/containerLogs/default/{pod_name}/main"), what="logs")
    # Runtime warnings (e.g. swiftlet-runc's "not enforced" on this host) may share the log.
    assert f"msg=hi name={pod_name} escaped=$(MSG)" in logs.splitlines()
    running = json.loads(node.get("/runningpods"))["items"]
    assert [p["metadata"]["name"] for p in running] == [pod_name]
    metrics = node.get("/metrics")
    assert "kubelet_pod_start_duration_seconds_count 1" in metrics or "kubelet_pod_start_duration_seconds_count" in metrics
    assert "kubelet_running_pods 1" in metrics


def test_bad_manifest_is_reported_and_skipped(node, manifests):
    manifests("good.yaml", pod_yaml("good", "sleep 3600", image=node.image))
    manifests("bad.yaml", """apiVersion: v1
kind: Pod
metadata: {name: bad}
spec:
  containers:
  - name: a
    image: busybox
  - name: b
""")
    node.wait_for(lambda: status(node, "good").get("phase") == "Running", what="good Running")
    assert f"bad-{node.node_name}" not in node.pods()
    node.wait_for(lambda: "spec.containers[1].image: Required value" in node.log("kubeletd"), what="error logged")
    assert "static_pod_manifest_errors_total 1" in node.get("/metrics")


def test_edit_replaces_and_removal_stops_the_pod(node, manifests):
    manifests("edit.yaml", pod_yaml("edit", "echo v1; sleep 3600", image=node.image))
    node.wait_for(lambda: status(node, "edit").get("phase") == "Running", what="v1 Running")
    first = node.pods()[f"edit-{node.node_name}"]
    before = set(runtime_containers(node))
    manifests("edit.yaml", pod_yaml("edit", "echo v2; sleep 3600", image=node.image))
    node.wait_for(lambda: node.pods()[f"edit-{node.node_name}"]["metadata"]["uid"] != first["metadata"]["uid"]
                  and status(node, "edit").get("phase") == "Running", what="v2 Running")
    logs = node.wait_for(lambda: node.get(f"/containerLogs/default/edit-{node.node_name}/main").strip(), what="v2 logs")
    assert "v2" in logs.splitlines() and "v1" not in logs.splitlines()
    (node.manifests / "edit.yaml").unlink()
    node.wait_for(lambda: f"edit-{node.node_name}" not in node.pods(), what="pod gone")
    # The runtime holds none of the pod's containers (old or new) once it is removed.
    node.wait_for(lambda: not (set(runtime_containers(node)) & before) and not runtime_containers(node),
                  what="containers removed from the runtime")


def test_crash_loop_restarts_with_backoff(node, manifests):
    manifests("crash.yaml", pod_yaml("crash", "echo boom; exit 3", image=node.image))
    node.wait_for(lambda: main_state(node, "crash")["restartCount"] >= 1, timeout=30, what="first restart")
    state = node.wait_for(lambda: (s := main_state(node, "crash")) and "waiting" in s["state"] and s, timeout=30,
                          what="CrashLoopBackOff")
    assert state["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert state["lastState"]["terminated"]["exitCode"] == 3
    assert status(node, "crash")["phase"] == "Running"
    # The second restart waits for the doubled back-off (20 s after the first restart's exit).
    count = main_state(node, "crash")["restartCount"]
    assert count == 1
    time.sleep(8)
    assert main_state(node, "crash")["restartCount"] == 1
    assert "boom" in node.get(f"/containerLogs/default/crash-{node.node_name}/main?previous=true").splitlines()


def test_restart_policies_end_in_succeeded_or_failed(node, manifests):
    manifests("ok.yaml", pod_yaml("ok", "exit 0", restart="OnFailure", image=node.image))
    manifests("fail.yaml", pod_yaml("fail", "exit 7", restart="Never", image=node.image))
    node.wait_for(lambda: status(node, "ok").get("phase") == "Succeeded", what="ok Succeeded")
    node.wait_for(lambda: status(node, "fail").get("phase") == "Failed", what="fail Failed")
    term = main_state(node, "fail")["state"]["terminated"]
    assert term["exitCode"] == 7 and term["reason"] == "Error"
    assert main_state(node, "fail")["restartCount"] == 0


def test_init_containers_run_in_order_before_sidecars_and_apps(node, manifests):
    manifests("init.yaml", f"""apiVersion: v1
kind: Pod
metadata: {{name: init}}
spec:
  terminationGracePeriodSeconds: 2
  volumes: [{{name: shared, emptyDir: {{}}}}]
  initContainers:
  - name: first
    image: {node.image}
    command: [sh, -c, "echo first >> /shared/order"]
    volumeMounts: [{{name: shared, mountPath: /shared}}]
  - name: second
    image: {node.image}
    command: [sh, -c, "grep -q first /shared/order && echo second >> /shared/order"]
    volumeMounts: [{{name: shared, mountPath: /shared}}]
  - name: sidecar
    image: {node.image}
    restartPolicy: Always
    command: [sh, -c, "echo sidecar >> /shared/order; sleep 3600"]
    volumeMounts: [{{name: shared, mountPath: /shared}}]
  containers:
  - name: main
    image: {node.image}
    command: [sh, -c, "echo main >> /shared/order; cat /shared/order; sleep 3600"]
    volumeMounts: [{{name: shared, mountPath: /shared}}]
""")
    node.wait_for(lambda: status(node, "init").get("phase") == "Running", what="init pod Running")
    logs = node.wait_for(lambda: node.get(f"/containerLogs/default/init-{node.node_name}/main").strip(), what="main logs")
    order = [l for l in logs.splitlines() if l in ("first", "second", "sidecar", "main")]
    assert order == ["first", "second", "sidecar", "main"]
    inits = {c["name"]: c for c in status(node, "init")["initContainerStatuses"]}
    assert inits["first"]["state"]["terminated"]["exitCode"] == 0
    assert "running" in inits["sidecar"]["state"]


def test_kill9_and_restart_adopts_running_pods(node, manifests):
    manifests("adopt.yaml", pod_yaml("adopt", "sleep 3600", image=node.image))
    node.wait_for(lambda: status(node, "adopt").get("phase") == "Running", what="adopt Running")
    before = main_state(node, "adopt")
    node.stop("kubeletd", sig=9)
    node.start_kubelet()
    node.wait_for(lambda: status(node, "adopt").get("phase") == "Running", what="adopted")
    after = main_state(node, "adopt")
    assert after["containerID"] == before["containerID"]
    assert after["restartCount"] == before["restartCount"] == 0


def test_invalid_configuration_stops_startup_naming_the_field(tmp_path):
    config = tmp_path / "c.yaml"
    for body, field in [("maxPods: 0", "maxPods"), ("staticPodPaht: /x", "staticPodPaht"),
                        ("syncFrequency: soon", "syncFrequency")]:
        config.write_text("apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n" + body + "\n")
        out = subprocess.run([str(kubeletlib.bin_dir() / "kubeletd"), "--config", str(config), "--root-dir", str(tmp_path / "r")],
                             capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        assert out.returncode == 2, out.stderr
        assert f"invalid configuration: {field}:" in out.stderr
    out = subprocess.run([str(kubeletlib.bin_dir() / "kubeletd"), "--node-ip", "1.2.3", "--root-dir", str(tmp_path / "r")],
                         capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert out.returncode == 2 and "--node-ip" in out.stderr
    assert not (tmp_path / "r").exists()


def test_removal_runs_prestop_then_stops_within_the_grace_period(node, manifests, tmp_path):
    marker = tmp_path / "prestop"
    marker.mkdir()
    manifests("term.yaml", f"""apiVersion: v1
kind: Pod
metadata: {{name: term}}
spec:
  terminationGracePeriodSeconds: 3
  volumes: [{{name: out, hostPath: {{path: {marker}, type: Directory}}}}]
  containers:
  - name: main
    image: {node.image}
    command: [sh, -c, "trap '' TERM; sleep 3600"]
    volumeMounts: [{{name: out, mountPath: /out}}]
    lifecycle:
      preStop:
        exec: {{command: [sh, -c, "echo stopping > /out/prestop"]}}
""")
    node.wait_for(lambda: status(node, "term").get("phase") == "Running", what="term Running")
    started = time.time()
    (node.manifests / "term.yaml").unlink()
    node.wait_for(lambda: not node.runtime_containers(), timeout=40, poll=0.1, what="term's containers gone")
    elapsed = time.time() - started
    # preStop ran inside the container; the container ignores SIGTERM, so SIGKILL came at the
    # end of the 3 s grace period (not before, and not after the default 30 s).
    assert (marker / "prestop").read_text().strip() == "stopping"
    assert 2.5 <= elapsed < 15, elapsed


def test_swiftlet_node_cli_shows_pods_containers_and_logs(node, manifests):
    manifests("cli.yaml", pod_yaml("cli", "echo from-cli; sleep 3600", image=node.image))
    node.wait_for(lambda: status(node, "cli").get("phase") == "Running", what="cli Running")
    cli = [str(kubeletlib.bin_dir() / "swiftlet-node")]
    server = f"--server=http://127.0.0.1:{node.port}"
    pods = node.netns_exec(cli + ["pods", server]).stdout.splitlines()
    assert pods[0].split() == ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP"]
    row = next(l.split() for l in pods[1:] if f"cli-{node.node_name}" in l)
    assert row[2:5] == ["1/1", "Running", "0"] and row[6].startswith("10.77.")
    containers = node.netns_exec(cli + ["containers", server]).stdout
    assert any(l.split()[2:4] == ["Running", "main"] for l in containers.splitlines()[1:])
    node.wait_for(lambda: "from-cli" in node.netns_exec(cli + ["logs", server, f"cli-{node.node_name}"]).stdout,
                  what="logs through the CLI")
    missing = subprocess.run(node.enter(cli + ["logs", server, "nope"]), capture_output=True, text=True)
    assert missing.returncode != 0 and "nope not found" in missing.stderr

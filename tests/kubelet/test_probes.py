"""Probes over a real runtime: exec through CRI, tcpSocket and httpGet from the node to the pod."""
from test_static_pods import IMAGE, main_state, status


def probe_pod(name, command, probes, image=IMAGE):
    return f"""apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: {image}
    command: [sh, -c, "{command}"]
    ports: [{{name: web, containerPort: 8080}}]
{probes}"""


def test_exec_readiness_turns_ready_when_the_check_passes(node, manifests):
    manifests("ready.yaml", probe_pod("ready", "sleep 4; touch /tmp/ready; sleep 3600", """    readinessProbe:
      exec: {command: [cat, /tmp/ready]}
      periodSeconds: 1
""", image=node.image))
    node.wait_for(lambda: status(node, "ready").get("phase") == "Running", what="Running")
    s = main_state(node, "ready")
    assert "running" in s["state"] and s["ready"] is False
    conditions = {c["type"]: c["status"] for c in status(node, "ready")["conditions"]}
    assert conditions["Ready"] == "False"
    node.wait_for(lambda: main_state(node, "ready")["ready"], timeout=30, what="ready after the file appears")
    conditions = {c["type"]: c["status"] for c in status(node, "ready")["conditions"]}
    assert conditions["Ready"] == "True" and conditions["ContainersReady"] == "True"


def test_http_and_tcp_probes_against_a_server_in_the_pod(node, manifests):
    manifests("web.yaml", probe_pod("web", "mkdir -p /www && echo ok > /www/index.html && httpd -f -p 8080 -h /www", """    readinessProbe:
      httpGet: {path: /index.html, port: web}
      periodSeconds: 1
    livenessProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 1
""", image=node.image))
    node.wait_for(lambda: main_state(node, "web")["ready"], timeout=30, what="web ready through httpGet")
    assert main_state(node, "web")["restartCount"] == 0


def test_failing_liveness_restarts_the_container(node, manifests):
    manifests("live.yaml", probe_pod("live", "sleep 3600", """    livenessProbe:
      httpGet: {path: /, port: 8080}
      periodSeconds: 1
      failureThreshold: 2
""", image=node.image))
    node.wait_for(lambda: main_state(node, "live")["restartCount"] >= 1, timeout=40, what="restart after liveness failures")
    assert "probe failed" in node.log("kubeletd")


def test_http_readiness_failure_status_code_keeps_not_ready(node, manifests):
    manifests("notfound.yaml", probe_pod("notfound", "mkdir -p /www && httpd -f -p 8080 -h /www", """    readinessProbe:
      httpGet: {path: /missing, port: 8080}
      periodSeconds: 1
""", image=node.image))
    node.wait_for(lambda: "statuscode: 404" in node.log("kubeletd"), timeout=30, what="404 logged")
    assert main_state(node, "notfound")["ready"] is False


def test_poststart_exec_runs_and_failing_poststart_restarts(node, manifests):
    manifests("hook.yaml", probe_pod("hook", "while [ ! -f /tmp/started ]; do sleep 0.1; done; echo hooked; sleep 3600", """    lifecycle:
      postStart: {exec: {command: [touch, /tmp/started]}}
""", image=node.image))
    node.wait_for(lambda: "hooked" in node.get(f"/containerLogs/default/hook-{node.node_name}/main").splitlines(),
                  what="postStart exec seen by the container")
    manifests("badhook.yaml", probe_pod("badhook", "sleep 3600", """    lifecycle:
      postStart: {httpGet: {path: /, port: 9}}
""", image=node.image))
    node.wait_for(lambda: main_state(node, "badhook")["restartCount"] >= 1, timeout=40, what="restart after a failed postStart")
    assert "postStart hook failed" in node.log("kubeletd")

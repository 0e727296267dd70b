"""Log rotation: a chatty container's log is rotated at containerLogMaxSize through CRI
ReopenContainerLog, older rotated files are gzip-compressed, at most containerLogMaxFiles files
are kept, and /containerLogs keeps showing the current file."""
import glob
import gzip
import re
import time

from housekeeping import node_fixture
from test_static_pods import status

node = node_fixture(containerLogMaxSize="10Ki", containerLogMaxFiles=3, containerLogMonitorInterval="1s")

CHATTY = """apiVersion: v1
kind: Pod
metadata: {{name: chatty}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {image}
    command: [sh, -c, "i=0; while true; do echo line-$i-padding-padding-padding-padding; i=$((i+1)); usleep 5000; done"]
"""


def numbers(text):
    return [int(n) for n in re.findall(r"line-(\d+)-padding", text)]


def test_chatty_container_log_is_rotated_compressed_and_pruned(node, manifests):
    manifests("chatty.yaml", CHATTY.format(image=node.image))
    node.wait_for(lambda: status(node, "chatty").get("phase") == "Running", what="Running")
    pattern = f"/var/log/pods/default_chatty-{node.node_name}_*/main/0.log"
    node.wait_for(lambda: glob.glob(pattern), what="the container log")
    log = glob.glob(pattern)[0]
    node.wait_for(lambda: glob.glob(log + ".*.gz"), timeout=60, what="a compressed rotated log")
    # Several more rotations: never more than containerLogMaxFiles files in all.
    seen_max = 0
    deadline = time.time() + 8
    while time.time() < deadline:
        files = [f for f in glob.glob(log + "*") if not f.endswith(".tmp")]
        seen_max = max(seen_max, len(files))
        time.sleep(0.2)
    assert seen_max <= 3, f"more than 3 log files: {files}"
    files = sorted(glob.glob(log + ".*"))
    assert all(re.fullmatch(re.escape(log) + r"\.\d{8}-\d{6}(\.gz)?", f) for f in files), files
    compressed = [f for f in files if f.endswith(".gz")]
    assert compressed, files
    # The rotated files hold CRI-format lines, older than what the current file holds.
    with gzip.open(compressed[-1], "rt") as f:
        old = f.read()
    assert re.match(r"\S+ stdout [FP] line-\d+", old), old[:200]
    old_numbers = numbers(old)
    assert old_numbers
    current = node.get(f"/containerLogs/default/chatty-{node.node_name}/main")
    current_numbers = numbers(current)
    assert current_numbers and min(current_numbers) > max(old_numbers)
    # The runtime writes to the reopened file: it grows again after a rotation. (Right after one
    # the current file can be empty for a moment, hence the wait.)
    def tail_is_newer():
        tail = numbers(node.get(f"/containerLogs/default/chatty-{node.node_name}/main?tailLines=1"))
        return bool(tail) and tail[0] >= current_numbers[-1]
    node.wait_for(tail_is_newer, timeout=10, what="a newer last line in the current log")
    assert "rotated container log" in node.log("kubeletd")


def container_status_calls(node):
    for line in node.get("/metrics").splitlines():
        if line.startswith('kubelet_runtime_operations_total{operation_type="container_status"} '):
            return float(line.split()[-1])
    return 0.0


def test_a_small_log_is_checked_without_asking_the_runtime(node, manifests):
    """Rotation stats each running container's log where the kubelet put it and asks the
    runtime (ContainerStatus) only about logs at the limit: a quiet container costs no call."""
    manifests("quiet.yaml", f"""apiVersion: v1
kind: Pod
metadata: {{name: quiet}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {node.image}
    command: [sh, -c, "echo hello; sleep 3600"]
""")
    node.wait_for(lambda: status(node, "quiet").get("phase") == "Running", what="Running")
    node.wait_for(lambda: glob.glob(f"/var/log/pods/default_quiet-{node.node_name}_*/main/0.log"), what="the log")
    time.sleep(2)
    before = container_status_calls(node)
    time.sleep(6)  # six rotation passes (containerLogMonitorInterval 1s)
    assert container_status_calls(node) == before
    assert node.get(f"/containerLogs/default/quiet-{node.node_name}/main").splitlines()[-1] == "hello"

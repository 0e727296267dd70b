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
    # The runtime writes to the reopened file: it grows again after a rotation.
    assert numbers(node.get(f"/containerLogs/default/chatty-{node.node_name}/main?tailLines=1"))[0] >= current_numbers[-1]
    assert "rotated container log" in node.log("kubeletd")

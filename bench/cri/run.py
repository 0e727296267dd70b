"""Runs the CRI pod-start workload against Debian's containerd (CRI plugin, runc, reference CNI
plugins) and swiftlet-cri (swiftlet-runc, swiftlet-cni), both inside one throwaway network
namespace with a local registry, for several rounds; prints medians and the ratio.
Called by bench/cri-pods.sh."""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "cri"))
import crilib  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "3"))
PODS = int(os.environ.get("PODS", "50"))
CONCURRENCY = int(os.environ.get("CONCURRENCY", "20"))
IMAGE = "127.0.0.1:5000/bench/busybox:1"
PAUSE = "127.0.0.1:5000/bench/pause:1"


def pctl(values, p):
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def start_containerd(env):
    d = env.tmp / "containerd"
    (d / "net.d").mkdir(parents=True)
    conf = {"cniVersion": "1.0.0", "name": "ctrbench", "plugins": [
        {"type": "bridge", "bridge": "ctrb0", "isGateway": True, "ipMasq": False, "hairpinMode": True,
         "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.90.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}],
                  "dataDir": str(d / "ipam")}},
        {"type": "portmap", "capabilities": {"portMappings": True}}]}
    (d / "net.d" / "10-bench.conflist").write_text(json.dumps(conf))
    (d / "config.toml").write_text(f"""version = 2
root = "{d}/root"
state = "{d}/state"
[grpc]
  address = "{d}/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE}"
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{d}/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."127.0.0.1:5000"]
    endpoint = ["http://127.0.0.1:5000"]
""")
    log = open(d / "containerd.log", "w")
    p = subprocess.Popen(["nsenter", f"--net=/run/netns/{env.ns}", "containerd", "--config", str(d / "config.toml")],
                         stdout=log, stderr=log, start_new_session=True)
    env.procs.append(p)
    sock = d / "containerd.sock"
    for _ in range(200):
        if sock.exists():
            break
        time.sleep(0.1)
    time.sleep(1)
    return p, sock


def daemon_pid(wrapper_pid, name):
    """`nsenter` execs the daemon, so the pid is the same; checked by name."""
    comm = Path(f"/proc/{wrapper_pid}/comm").read_text().strip()
    assert comm == name[:15], f"pid {wrapper_pid} is {comm}, not {name}"
    return wrapper_pid


def bench(env, socket, image, pid, helper):
    out = subprocess.run([sys.executable, str(HERE / "podbench.py"), str(socket), image, str(pid), helper,
                          "--pods", str(PODS), "--concurrency", str(CONCURRENCY)],
                         capture_output=True, text=True, env=dict(os.environ, CRI_STUBS=env.stubs_dir))
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout)


def main():
    env = crilib.Environment()
    try:
        api_pb2, _ = crilib.stubs()
        env.stubs_dir = str(Path(api_pb2.__file__).parent)
        env.start_registry()
        layout = crilib.build_busybox_layout(Path(tempfile.mkdtemp(dir=env.tmp)))
        env.push(layout, "bench/busybox:1")
        pause = crilib.build_busybox_layout(Path(tempfile.mkdtemp(dir=env.tmp)), entrypoint=["sleep", "2147483647"])
        env.push(pause, "bench/pause:1")
        ctr, ctr_sock = start_containerd(env)
        # containerd pulls its sandbox image on first use: pull it now, outside the timing.
        c = crilib.Client(ctr_sock)
        c.img.PullImage(c.pb.PullImageRequest(image=c.pb.ImageSpec(image=PAUSE)), timeout=300)
        c.close()
        # The runtime and CNI plugin may come from a release build (RUNTIME_BIN_DIR).
        fast = os.environ.get("RUNTIME_BIN_DIR")
        if fast:
            env.config["runtime_path"] = str(Path(fast) / "swiftlet-runc")
            for name in ("bridge", "host-local"):
                link = env.tmp / "cni-bin" / name
                link.unlink()
                os.symlink(Path(fast) / "swiftlet-cni", link)
        print(f"binaries: swiftlet-cri from {env.bins}, runtime/CNI from {fast or env.bins}", file=sys.stderr)
        env.config["log_level"] = "warning"
        env.config_path.write_text(json.dumps(env.config))
        env.start_daemon()
        ours_pid = daemon_pid(env.daemon.pid, "swiftlet-cri")
        ctr_pid = daemon_pid(ctr.pid, "containerd")
        results = {"containerd": [], "swiftlet": []}
        for r in range(ROUNDS):
            results["containerd"].append(bench(env, ctr_sock, IMAGE, ctr_pid, "containerd-shim-runc-v2"))
            results["swiftlet"].append(bench(env, env.socket, IMAGE, ours_pid, "swiftlet-monitor"))
            print(f"round {r + 1}/{ROUNDS}: containerd p50 {pctl(results['containerd'][-1]['latencies_ms'], 50):.0f} ms, "
                  f"swiftlet p50 {pctl(results['swiftlet'][-1]['latencies_ms'], 50):.0f} ms", file=sys.stderr)
        summary = {}
        for name, runs in results.items():
            summary[name] = {
                "p50_ms": statistics.median(pctl(x["latencies_ms"], 50) for x in runs),
                "p99_ms": statistics.median(pctl(x["latencies_ms"], 99) for x in runs),
                "wall_s": statistics.median(x["wall_s"] for x in runs),
                "rss_idle_mib": statistics.median(x["rss_idle_kib"] for x in runs) / 1024,
                "rss_50_mib": statistics.median(x["rss_loaded_kib"] for x in runs) / 1024,
                "helper_rss_mib": statistics.median(statistics.median(x["helper_rss_kib"] or [0]) for x in runs) / 1024,
                "helper_pss_mib": statistics.median(statistics.median(x["helper_pss_kib"] or [0]) for x in runs) / 1024,
                "helpers_per_round": runs[-1]["helpers"],
                "teardown_s": statistics.median(x["teardown_s"] for x in runs),
                "teardown_errors": sum(len(x["teardown_errors"]) for x in runs),
            }
            for x in runs:
                for e in x["teardown_errors"][:5]:
                    print(f"{name} teardown error: {e}", file=sys.stderr)
        print(f"CRI pod start: {PODS} pods (RunPodSandbox+CreateContainer+StartContainer), {CONCURRENCY} at once, "
              f"median of {ROUNDS} rounds")
        print(f"{'':12}{'p50 ms':>9}{'p99 ms':>9}{'wall s':>8}{'RSS idle':>10}{'RSS @' + str(PODS):>9}"
              f"{'helper RSS':>12}{'helper PSS':>12}  helper")
        for name, helper in (("containerd", "containerd-shim-runc-v2"), ("swiftlet", "swiftlet-monitor")):
            s = summary[name]
            print(f"{name:12}{s['p50_ms']:9.0f}{s['p99_ms']:9.0f}{s['wall_s']:8.2f}{s['rss_idle_mib']:9.1f}M"
                  f"{s['rss_50_mib']:8.1f}M{s['helper_rss_mib']:11.2f}M{s['helper_pss_mib']:11.2f}M  {helper} "
                  f"x{s['helpers_per_round']}")
        print(f"teardown of {PODS} pods at once (StopPodSandbox+RemovePodSandbox, until no sandbox and no helper is left):")
        for name in ("containerd", "swiftlet"):
            s = summary[name]
            print(f"{name:12}{s['teardown_s']:9.2f} s  errors: {s['teardown_errors']}")
        print(f"ratio swiftlet/containerd teardown: {summary['swiftlet']['teardown_s'] / summary['containerd']['teardown_s']:.2f}")
        ratio = summary["swiftlet"]["p50_ms"] / summary["containerd"]["p50_ms"]
        print(f"ratio swiftlet/containerd p50: {ratio:.2f} (goal <= 0.5)")
        print(json.dumps(summary), file=sys.stderr)
    finally:
        env.cleanup()


if __name__ == "__main__":
    main()

"""The body of bench/image-pull.sh (see there). Uses tests/image/imagelib.py to build images and
run the registry."""
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "image"))
from imagelib import Layout, Registry, busybox_entries, skopeo_push, tar_bytes  # noqa: E402

ours, rounds, big_mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])


def mixed_entries(total_mb, seed):
    """Mixed files: many small text-like files, some medium, a few large; partly compressible."""
    rng = random.Random(seed)
    words = [bytes(rng.choice(b"abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 9))) for _ in range(2000)]

    def content(size):
        if rng.random() < 0.3:
            return rng.randbytes(size)
        out = bytearray()
        while len(out) < size:
            out += rng.choice(words) + b" "
        return bytes(out[:size])

    entries, total, i = [], 0, 0
    budget = total_mb * 1024 * 1024
    plan = [(0.35, lambda: rng.randint(512, 16384)), (0.35, lambda: rng.randint(100_000, 2_000_000)),
            (0.30, lambda: rng.randint(8_000_000, 20_000_000))]
    for share, size_of in plan:
        part = 0
        while part < budget * share:
            d = f"data/d{i % 64:02d}"
            if i < 64:
                entries.append({"name": d, "type": "dir"})
            size = size_of()
            entries.append({"name": f"{d}/f{i}", "data": content(size), "mode": 0o644})
            if i % 50 == 0:
                entries.append({"name": f"{d}/l{i}", "type": "symlink", "link": f"f{i}"})
            part += size
            i += 1
        total += part
    return [{"name": "data", "type": "dir"}] + entries, total


def timed(cmd, env=None):
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{cmd} failed: {result.stderr[-2000:]}")
    return elapsed


work = tempfile.mkdtemp(prefix="swiftlet-image-bench-")
procs = []
try:
    print(f"ours: {ours}")
    print("building images ...", flush=True)
    layout_dir = os.path.join(work, "layout")
    layout = Layout(layout_dir)
    base = tar_bytes(busybox_entries())
    app_entries, app_bytes = mixed_entries(24, 1)
    app = tar_bytes(app_entries)
    desc, _ = layout.image([base, app])
    layout.add(desc, "app")
    big_entries, big_bytes = mixed_entries(big_mb, 2)
    big = tar_bytes(big_entries)
    del big_entries
    desc, _ = layout.image([big])
    layout.add(desc, "big")
    del big, app

    reg = Registry(work)
    procs.append(reg)
    for tag in ("app", "big"):
        skopeo_push(f"oci:{layout_dir}:{tag}", f"docker://{reg.host}/bench/{tag}:1")
    shutil.rmtree(layout_dir)
    config = os.path.join(work, "registries.yaml")
    with open(config, "w") as f:
        f.write(f'registries:\n  "{reg.host}":\n    plainHTTP: true\n')

    # containerd with its own everything; the CRI plugin is not needed.
    croot, cstate, sock = (os.path.join(work, n) for n in ("ctd-root", "ctd-state", "ctd.sock"))
    ccfg = os.path.join(work, "containerd.toml")
    with open(ccfg, "w") as f:
        f.write('version = 2\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n')
    ctd_log = open(os.path.join(work, "containerd.log"), "wb")
    ctd = subprocess.Popen(["containerd", "--config", ccfg, "--root", croot, "--state", cstate, "--address", sock],
                           stdout=ctd_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    for _ in range(200):
        if subprocess.run(["ctr", "-a", sock, "version"], capture_output=True).returncode == 0:
            break
        time.sleep(0.05)
    ctr = ["ctr", "-a", sock, "-n", "bench"]
    ctd_version = subprocess.run(["containerd", "--version"], capture_output=True, text=True).stdout.split()[2]

    store = os.path.join(work, "store")

    def ours_pull(ref):
        shutil.rmtree(store, ignore_errors=True)
        subprocess.run(["sync"])
        t = timed([ours, "pull", ref, "--root", store, "--registries-config", config, "--quiet"])
        return t

    def ours_clean():
        for line in open("/proc/self/mountinfo"):
            if line.split()[4].startswith(store):
                subprocess.run(["umount", "-l", line.split()[4]])
        shutil.rmtree(store, ignore_errors=True)

    def ctd_pull(ref):
        subprocess.run(["sync"])
        return timed(ctr + ["images", "pull", "--plain-http", ref])

    def ctd_clean(ref):
        subprocess.run(ctr + ["images", "rm", "--sync", ref], capture_output=True)
        left = subprocess.run(ctr + ["snapshots", "ls"], capture_output=True, text=True).stdout.strip().splitlines()[1:]
        if left:
            sys.exit(f"containerd kept snapshots after rm --sync: {left}")

    results = {}
    for name, ref, payload in (("app (busybox + 24 MB mixed)", f"{reg.host}/bench/app:1", app_bytes),
                               (f"big ({big_mb} MB mixed, one layer)", f"{reg.host}/bench/big:1", big_bytes)):
        n = rounds if "app" in name else max(3, rounds // 2)
        ours_t, ctd_t = [], []
        # warm-up: one of each, not counted
        ours_pull(ref); ours_clean()
        ctd_pull(ref); ctd_clean(ref)
        for r in range(n):
            order = ("ours", "ctd") if r % 2 == 0 else ("ctd", "ours")
            for who in order:
                if who == "ours":
                    ours_t.append(ours_pull(ref)); ours_clean()
                else:
                    ctd_t.append(ctd_pull(ref)); ctd_clean(ref)
        results[name] = (ours_t, ctd_t, payload, n)

    print()
    print(f"cold pull + unpack from a local docker-registry, medians over the rounds (containerd {ctd_version})")
    print(f"{'image':36} {'rounds':>6} {'ours s':>8} {'ctd s':>8} {'ratio':>7} {'ours MB/s':>10} {'ctd MB/s':>9}")
    for name, (o, c, payload, n) in results.items():
        mo, mc = statistics.median(o), statistics.median(c)
        mb = payload / 1e6
        print(f"{name:36} {n:>6} {mo:8.3f} {mc:8.3f} {mo / mc:6.2f}x {mb / mo:10.1f} {mb / mc:9.1f}")
    print("(MB/s: unpacked file content of the mixed layer(s) / pull time; goal: ratio <= 0.7)")
finally:
    for p in procs:
        p.stop()
    try:
        ctd.send_signal(signal.SIGTERM)
        ctd.wait(20)
    except Exception:
        pass
    for line in open("/proc/self/mountinfo"):
        if line.split()[4].startswith(work):
            subprocess.run(["umount", "-l", line.split()[4]])
    shutil.rmtree(work, ignore_errors=True)

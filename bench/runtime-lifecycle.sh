#!/usr/bin/env bash
# Container lifecycle benchmark: a busybox `true` container through
# create + start + wait-for-exit (reaped, must be status 0) + delete, ours and the peer(s) on the same
# bundle, rounds interleaved (order alternates each round), after warm-up.
# Prints per-runtime median/p90/min of the whole cycle, per-verb medians, the
# peak RSS of the runtime process (max ru_maxrss over every verb, from untimed runs under GNU
# time, apt `time`), and the ratio ours/peer. Verbs are started with posix_spawn, as Go's
# os/exec (containerd) starts a runtime: no fork of this interpreter in the timings.
#
#   bench/runtime-lifecycle.sh [OURS] [-n ROUNDS] [--peers "runc crun"]
#
# OURS: path, else $SWIFTLET_RUNTIME, else the release build (.build-release, then
# .build/release), else .build/debug/swiftlet-runc (bench/lib.sh). If ours is
# missing the peers still run and the report says so. Root only.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${ROUNDS:-30}
PEERS=${PEERS:-runc}
OURS=""
while [ $# -gt 0 ]; do
  case "$1" in
    -n|--rounds) ROUNDS=$2; shift 2 ;;
    --peers) PEERS=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) OURS=$1; shift ;;
  esac
done
. "$REPO/bench/lib.sh"
[ -n "$OURS" ] || OURS=$(default_runtime "$REPO")
[ "$(id -u)" = 0 ] || { echo "runtime-lifecycle: needs root" >&2; exit 2; }
[ -x /bin/busybox ] || { echo "runtime-lifecycle: needs busybox-static (/bin/busybox)" >&2; exit 2; }

exec python3 - "$OURS" "$ROUNDS" $PEERS <<'PY'
import ctypes, json, os, shutil, statistics, subprocess, sys, tempfile, time, uuid

ours, rounds, peers = sys.argv[1], int(sys.argv[2]), sys.argv[3:]

def resolve(p):
    if "/" not in p:
        p = shutil.which(p) or p
    return os.path.realpath(p) if os.path.isfile(p) and os.access(p, os.X_OK) else None

runtimes = []  # (label, path)
ours_path = resolve(ours)
if ours_path:
    runtimes.append(("ours", ours_path))
else:
    print(f"ours: missing ({ours}) - peers only")
for p in peers:
    rp = resolve(p)
    if rp:
        runtimes.append((os.path.basename(rp), rp))
    else:
        print(f"peer {p}: missing - skipped")
if not runtimes:
    sys.exit("no runtime to benchmark")

# A child subreaper: each container's init (orphaned when `create` exits) becomes our child,
# so the wait step reaps it and checks that `true` really ran and exited 0.
PR_SET_CHILD_SUBREAPER = 36
if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
    sys.exit("runtime-lifecycle: prctl(PR_SET_CHILD_SUBREAPER) failed")

work = tempfile.mkdtemp(prefix="swiftlet-bench-")
devnull = os.open(os.devnull, os.O_RDWR)

errlog = os.path.join(work, "stderr")

GNU_TIME = "/usr/bin/time"  # Debian's `time` package
rssfile = os.path.join(work, "maxrss")


def spawn(argv, cwd=None, fork=False):
    """Run argv with stdin/stdout on /dev/null, stderr to a file read on
    failure; return (exit status, peak RSS KiB or None).

    Timed runs use posix_spawn (vfork-style, as Go's os/exec and so containerd start a
    runtime): forking this interpreter would add its page-table copy and tear-down (~0.8 ms)
    to every verb of every runtime. The peak RSS cannot come from those runs: a child's
    ru_maxrss starts from the memory it was forked (or vforked) with, this interpreter's.
    So untimed runs (fork=True) go through GNU time, a small process whose children's
    ru_maxrss is their own (its floor is ~1.2 MiB)."""
    if cwd or fork:  # posix_spawn here has no chdir action (`spec` runs once, in the bundle)
        if fork:
            argv = [GNU_TIME, "-q", "-f", "%M", "-o", rssfile] + argv
        err = os.open(errlog, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        pid = os.fork()
        if pid == 0:
            try:
                if cwd:
                    os.chdir(cwd)
                os.dup2(devnull, 0)
                os.dup2(devnull, 1)
                os.dup2(err, 2)
                os.execv(argv[0], argv)
            finally:
                os._exit(127)
        os.close(err)
    else:
        pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, devnull, 0),
            (os.POSIX_SPAWN_DUP2, devnull, 1),
            (os.POSIX_SPAWN_OPEN, 2, errlog, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
        ])
    _, status, _ = os.wait4(pid, 0)
    rss = None
    if fork:
        try:
            rss = int(open(rssfile).read().split()[-1])
        except (OSError, ValueError, IndexError):
            pass
    return os.waitstatus_to_exitcode(status), rss


def last_error():
    try:
        return open(errlog).read().strip().splitlines()[-1][:300]
    except (OSError, IndexError):
        return ""

try:
    bundle = os.path.join(work, "bundle")
    rootfs = os.path.join(bundle, "rootfs")
    os.makedirs(os.path.join(rootfs, "bin"))
    for d in ("proc", "sys", "dev", "tmp", "etc"):
        os.mkdir(os.path.join(rootfs, d))
    shutil.copy2("/bin/busybox", os.path.join(rootfs, "bin", "busybox"))
    for a in ("true", "sh"):
        os.symlink("busybox", os.path.join(rootfs, "bin", a))
    spec_rt = next((p for l, p in runtimes if l != "ours"), runtimes[0][1])
    rc, _ = spawn([spec_rt, "spec"], cwd=bundle)
    assert rc == 0, f"{spec_rt} spec failed"
    cfg_path = os.path.join(bundle, "config.json")
    cfg = json.load(open(cfg_path))
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["/bin/true"]
    json.dump(cfg, open(cfg_path, "w"), indent=2)

    def cycle(path, root, fork=False):
        cid = "bench-" + uuid.uuid4().hex[:10]
        pidfile = os.path.join(work, cid + ".pid")
        g = [path, "--root", root]
        t0 = time.perf_counter()
        rc, rss1 = spawn(fork=fork, argv=g + ["create", "--bundle", bundle, "--pid-file", pidfile, cid])
        t1 = time.perf_counter()
        if rc != 0:
            raise RuntimeError(f"create failed ({rc}): {last_error()}")
        pid = int(open(pidfile).read())
        rc, rss2 = spawn(fork=fork, argv=g + ["start", cid])
        t2 = time.perf_counter()
        if rc != 0:
            raise RuntimeError(f"start failed ({rc}): {last_error()}")
        _, status = os.waitpid(pid, 0)
        t3 = time.perf_counter()
        if os.waitstatus_to_exitcode(status) != 0:
            message = last_error()
            spawn(fork=fork, argv=g + ["delete", "--force", cid])  # leave no state or cgroup behind
            raise RuntimeError(f"the container's `true` exited {os.waitstatus_to_exitcode(status)}: {message}")
        rc, rss3 = spawn(fork=fork, argv=g + ["delete", cid])
        if rc != 0:  # the exit may not be recorded yet
            rc, rss3 = spawn(fork=fork, argv=g + ["delete", "--force", cid])
        t4 = time.perf_counter()
        if rc != 0:
            raise RuntimeError(f"delete failed ({rc}): {last_error()}")
        os.unlink(pidfile)
        rss = [x for x in (rss1, rss2, rss3) if x is not None]
        return {"total": t4 - t0, "create": t1 - t0, "start": t2 - t1, "wait": t3 - t2,
                "delete": t4 - t3, "rss": max(rss) if rss else None}

    roots = {l: tempfile.mkdtemp(prefix=f"root-{l}-", dir=work) for l, _ in runtimes}
    results = {l: [] for l, _ in runtimes}
    for l, p in list(runtimes):  # warm-up: page cache, first-run costs
        try:
            cycle(p, roots[l])
            cycle(p, roots[l])
        except RuntimeError as e:
            print(f"{l} ({p}): {e} - skipped")
            runtimes.remove((l, p))
            del results[l]
    if not runtimes:
        sys.exit("no runtime could run the container")
    for i in range(rounds):
        order = runtimes if i % 2 == 0 else list(reversed(runtimes))
        for l, p in order:
            results[l].append(cycle(p, roots[l]))

    # Peak RSS from untimed runs under GNU time (see spawn): three cycles per runtime.
    peak_rss = {}
    if os.access(GNU_TIME, os.X_OK):
        for l, p in runtimes:
            rss = [cycle(p, roots[l], fork=True)["rss"] for _ in range(3)]
            peak_rss[l] = max((x for x in rss if x is not None), default=None)

    def ms(v):
        return f"{v * 1000:8.2f}"

    def p90(xs):
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]

    print(f"busybox `true`: create+start+wait+delete, {rounds} rounds interleaved, times in ms")
    print(f"{'runtime':<22}{'median':>9}{'p90':>9}{'min':>9}{'create':>9}{'start':>9}{'wait':>9}{'delete':>9}{'maxRSS MiB':>12}")
    med = {}
    for l, p in runtimes:
        r = results[l]
        tot = [x["total"] for x in r]
        med[l] = (statistics.median(tot), p90(tot))
        name = l if l != "ours" else "ours:" + os.path.basename(p)
        print(f"{name:<22}{ms(statistics.median(tot))} {ms(p90(tot))} {ms(min(tot))}"
              + "".join(" " + ms(statistics.median(x[k] for x in r)) for k in ("create", "start", "wait", "delete"))
              + (f"{peak_rss[l] / 1024:12.1f}" if peak_rss.get(l) else f"{'n/a':>12}"))
    if "ours" in med:
        for l, _ in runtimes:
            if l != "ours":
                print(f"ratio ours/{l}: median {med['ours'][0] / med[l][0]:.2f}x, p90 {med['ours'][1] / med[l][1]:.2f}x")
    for l, p in runtimes:
        print(f"  {l}: {p}")
finally:
    shutil.rmtree(work, ignore_errors=True)
PY

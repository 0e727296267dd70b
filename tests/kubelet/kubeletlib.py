"""Test harness for kubeletd: a throwaway network namespace running a CRI runtime (containerd
with runc, or swiftlet-cri) with all state in a temp dir, images imported locally (no registry
access), and kubeletd over that runtime's socket. `cleanup()` removes everything it made."""
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from testkit import bin_dir, free_port, busybox_entries, oci_image_files  # noqa: E402

PAUSE_IMAGE = "registry.k8s.io/pause:3.9"
BUSYBOX_IMAGE = "docker.io/library/busybox:1"
LOCAL_BUSYBOX = "127.0.0.1:5000/test/busybox:1"
RUNTIMES = ["containerd", "swiftlet-cri"]


def runtime_available(runtime) -> bool:
    if runtime == "containerd":
        return shutil.which("containerd") is not None and shutil.which("runc") is not None
    d = bin_dir()
    return all((d / n).exists() for n in ("swiftlet-cri", "swiftlet-monitor", "swiftlet-pause", "swiftlet-runc", "swiftlet-cni")) \
        and shutil.which("docker-registry") is not None and shutil.which("skopeo") is not None


def sleep_pod(name, image, container_extra=""):
    """A static pod manifest: one container running `sleep 3600` from `image`, grace period 1 s.
    `container_extra`: more lines of the container's spec, each indented by four spaces."""
    return f"""apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {image}
    imagePullPolicy: IfNotPresent
    command: [sleep, "3600"]
{container_extra}"""


def busybox_oci_archive(dest: Path, ref_name: str, entrypoint=None, cmd=("sh",)) -> Path:
    """An OCI image archive (tar of an OCI layout) with busybox-static and its applets."""
    entries = busybox_entries(passwd=b"nobody:x:65534:65534::/:/bin/false\n", group=b"nogroup:x:65534:\n")
    config = {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "WorkingDir": "/"}
    if entrypoint:
        config["Entrypoint"] = list(entrypoint)
    if cmd:
        config["Cmd"] = list(cmd)
    files = oci_image_files(entries, config,
                            {"org.opencontainers.image.ref.name": ref_name, "io.containerd.image.name": ref_name})
    with tarfile.open(dest, "w") as tar:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return dest


class Node:
    """A network namespace with containerd (runc, CNI bridge) and kubeletd in it."""

    def __init__(self, runtime="containerd"):
        self.runtime = runtime
        self.tag = uuid.uuid4().hex[:8]
        self.ns = f"kl-{self.tag}"
        self.tmp = Path(tempfile.mkdtemp(prefix=f"kubelet-{self.tag}-"))
        self.manifests = self.tmp / "manifests"
        self.manifests.mkdir()
        self.root_dir = self.tmp / "kubelet"
        self.socket = self.tmp / "containerd.sock"
        self.cgroup_root = f"/swiftlet-kl-{self.tag}"
        self.node_name = f"node-{self.tag}"
        self.port = free_port()
        self.procs = {}
        self.logs = {}
        # The image tests run: imported into containerd, or pulled by swiftlet-cri from a local
        # registry in the namespace.
        self.image = BUSYBOX_IMAGE if runtime == "containerd" else LOCAL_BUSYBOX
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        self.netns_exec(["ip", "link", "set", "lo", "up"])

    # ---------------------------------------------------------- processes
    def enter(self, argv):
        # nsenter joins only the network namespace: `ip netns exec` would also remount /sys,
        # hiding the cgroup hierarchies runc needs.
        return ["nsenter", f"--net=/run/netns/{self.ns}", "--"] + argv

    def netns_exec(self, argv, **kw):
        return subprocess.run(self.enter(argv), check=True, capture_output=True, text=True, **kw)

    def spawn(self, name, argv):
        log = open(self.tmp / f"{name}.log", "ab")
        self.logs[name] = self.tmp / f"{name}.log"
        proc = subprocess.Popen(self.enter(argv), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs[name] = proc
        return proc

    def log(self, name) -> str:
        return self.logs[name].read_text(errors="replace") if name in self.logs else ""

    def stop(self, name, sig=signal.SIGTERM, timeout=20):
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    # ---------------------------------------------------------- containerd
    def start_containerd(self):
        cni = self.tmp / "cni"
        cni.mkdir()
        (cni / "10-bridge.conflist").write_text(json.dumps({
            "cniVersion": "1.0.0", "name": "kl",
            "plugins": [{"type": "bridge", "bridge": "klbr0", "isGateway": True, "ipMasq": False,
                         "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.77.0.0/16"}]],
                                  "dataDir": str(self.tmp / "ipam")}},
                        {"type": "loopback"}]}))
        config = f"""version = 2
root = "{self.tmp}/containerd-root"
state = "{self.tmp}/containerd-state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "{self.socket}"
[ttrpc]
  address = "{self.tmp}/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  restrict_oom_score_adj = true
  # Pod network namespaces under the state dir (in our temp dir), not /var/run/netns: if
  # containerd cannot tear a pod down in time, cleanup's unmount of the temp dir removes them.
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{cni}"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
"""
        (self.tmp / "containerd.toml").write_text(config)
        self.spawn("containerd", ["containerd", "--config", str(self.tmp / "containerd.toml")])
        deadline = time.time() + 30
        while not self.socket.exists():
            if time.time() > deadline or self.procs["containerd"].poll() is not None:
                raise RuntimeError("containerd did not start:\n" + self.log("containerd")[-3000:])
            time.sleep(0.1)
        for ref, entry in [(PAUSE_IMAGE, ["/bin/sleep", "infinity"]), (BUSYBOX_IMAGE, None)]:
            archive = busybox_oci_archive(self.tmp / f"{hashlib.md5(ref.encode()).hexdigest()}.tar", ref,
                                          entrypoint=entry, cmd=None if entry else ("sh",))
            self.ctr(["images", "import", "--no-unpack", str(archive)])
        return self

    def start_runtime(self):
        return self.start_containerd() if self.runtime == "containerd" else self.start_swiftlet_cri()

    def start_swiftlet_cri(self, registry=True, **overrides):
        """swiftlet-cri with our CNI plugin, and (unless `registry` is False: images come from
        its image store, `<tmp>/images`) a registry on 127.0.0.1:5000 holding busybox.
        `overrides` replace keys of the daemon's config (e.g. cgroup_enforcement=True in the VM)."""
        t = self.tmp
        for d in ("cni-bin", "cni-conf", "cri-root", "cri-state", "netns", "images", "registry", "ipam", "runc"):
            (t / d).mkdir(exist_ok=True)
        bins = bin_dir()
        for name in ("bridge", "host-local"):
            os.symlink(bins / "swiftlet-cni", t / "cni-bin" / name)
        (t / "cni-conf" / "10-kl.conflist").write_text(json.dumps({
            "cniVersion": "1.0.0", "name": f"kl{self.tag}", "plugins": [
                {"type": "bridge", "bridge": f"klb{self.tag[:6]}", "isGateway": True, "isDefaultGateway": True,
                 "ipMasq": False, "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.77.0.0/16"}]],
                                           "routes": [{"dst": "0.0.0.0/0"}], "dataDir": str(t / "ipam")}}]}))
        if registry:
            self.start_registry()
        self.socket = t / "cri.sock"
        config = {"listen": str(self.socket), "root_dir": str(t / "cri-root"), "state_dir": str(t / "cri-state"),
                  "netns_dir": str(t / "netns"), "image_dir": str(t / "images"), "runtime_root": str(t / "runc"),
                  "cni_conf_dir": str(t / "cni-conf"), "cni_bin_dirs": [str(t / "cni-bin")],
                  "cgroup_enforcement": False, "restrict_oom_score_adj": True, "cgroup_parent": self.cgroup_root}
        if registry:
            config["registry_config"] = str(t / "registries.yaml")
        config.update(overrides)
        (t / "cri.json").write_text(json.dumps(config))
        self.spawn("swiftlet-cri", [str(bins / "swiftlet-cri"), "--config", str(t / "cri.json")])
        deadline = time.time() + 30
        while not self.socket.exists():
            if time.time() > deadline or self.procs["swiftlet-cri"].poll() is not None:
                raise RuntimeError("swiftlet-cri did not start:\n" + self.log("swiftlet-cri")[-3000:])
            time.sleep(0.1)
        return self

    def start_registry(self):
        """A docker-registry on 127.0.0.1:5000 in the namespace, holding busybox as LOCAL_BUSYBOX."""
        t = self.tmp
        (t / "registries.yaml").write_text('registries:\n  "127.0.0.1:5000":\n    plainHTTP: true\n')
        (t / "registry.yml").write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {t / 'registry'}\n"
                                        "http:\n  addr: 127.0.0.1:5000\n")
        self.spawn("registry", ["docker-registry", "serve", str(t / "registry.yml")])
        deadline = time.time() + 20
        while subprocess.run(self.enter(["curl", "-sf", "http://127.0.0.1:5000/v2/"]), capture_output=True).returncode != 0:
            if time.time() > deadline:
                raise RuntimeError("registry did not start:\n" + self.log("registry")[-2000:])
            time.sleep(0.1)
        archive = busybox_oci_archive(t / "busybox.tar", "1", cmd=("sh",))
        self.netns_exec(["skopeo", "copy", "--format", "v2s2", "--dest-tls-verify=false", f"oci-archive:{archive}",
                         f"docker://{LOCAL_BUSYBOX}"])

    def runtime_containers(self):
        """IDs of every container the runtime holds (through the kubelet-independent CLI)."""
        if self.runtime == "containerd":
            return [l for l in self.ctr(["containers", "list", "-q"]).stdout.split() if l]
        runc = self.tmp / "runc"
        return [d for d in os.listdir(runc)] if runc.exists() else []

    def ctr(self, args):
        return subprocess.run(["ctr", "-a", str(self.socket), "-n", "k8s.io"] + args, check=True,
                              capture_output=True, text=True)

    # ---------------------------------------------------------- kubeletd
    def write_config(self, **extra) -> Path:
        config = {"apiVersion": "kubelet.config.k8s.io/v1beta1", "kind": "KubeletConfiguration",
                  "staticPodPath": str(self.manifests), "containerRuntimeEndpoint": f"unix://{self.socket}",
                  "cgroupRoot": self.cgroup_root, "readOnlyPort": self.port, "address": "127.0.0.1",
                  "healthzPort": 0, "fileCheckFrequency": "2s",
                  # This host's cgroup v2 tree has no controllers: no kubelet-made QoS cgroups
                  # (tests/vm/test_kubelet_vm.py runs with cgroupsPerQOS: true).
                  "cgroupsPerQOS": False,
                  # Only the memory signal: upstream's default disk thresholds (imagefs.available
                  # 15%, nodefs.available 10%) evict every pod on a build machine whose disk is
                  # that full (this one was at 14.8%); tests/kubelet/test_eviction.py sets its own.
                  "evictionHard": {"memory.available": "100Mi"}}
        config.update(extra)
        path = self.tmp / "kubelet-config.yaml"
        path.write_text(json.dumps(config))
        return path

    def start_kubelet(self, startup_timeout=30, **extra):
        """Starts kubeletd with a config of `extra` settings and waits for /healthz (a slow
        start, e.g. under valgrind, needs a longer `startup_timeout`)."""
        config = self.write_config(**extra)
        self.spawn("kubeletd", [str(bin_dir() / "kubeletd"), "--config", str(config), "--root-dir", str(self.root_dir),
                                "--hostname-override", self.node_name])
        deadline = time.time() + startup_timeout
        while True:
            try:
                if self.get("/healthz") == "ok":
                    return self
            except (OSError, subprocess.CalledProcessError):
                pass
            if time.time() > deadline or self.procs["kubeletd"].poll() is not None:
                raise RuntimeError("kubeletd did not start:\n" + self.log("kubeletd")[-3000:])
            time.sleep(0.1)

    def get(self, path) -> str:
        # The API listens on 127.0.0.1 inside the namespace: ask from there.
        out = self.netns_exec(["curl", "-sSf", "--max-time", "10", f"http://127.0.0.1:{self.port}{path}"])
        return out.stdout

    def pods(self) -> dict:
        return {p["metadata"]["name"]: p for p in json.loads(self.get("/pods"))["items"]}

    def wait_for(self, predicate, timeout=60, what="condition", poll=0.3, proc=None):
        """Polls `predicate` until it returns something true; gives up at `timeout`, or at once
        when the daemon `proc` (e.g. "kubeletd") has exited. The failure shows the daemons' logs."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if proc and (proc not in self.procs or self.procs[proc].poll() is not None):
                last = f"{proc} exited"
                break
            try:
                last = predicate()
                if last:
                    return last
            except (OSError, subprocess.CalledProcessError, KeyError, json.JSONDecodeError) as e:
                last = e
            time.sleep(poll)
        others = "".join(f"\n{name} log:\n{self.log(name)[-3000:]}" for name in self.logs
                         if name not in ("kubeletd", "registry") and (proc == name or name == "swiftlet-cri"))
        raise AssertionError(f"timed out waiting for {what}; last={last}\nkubeletd log:\n{self.log('kubeletd')[-4000:]}{others}")

    def write_manifest(self, name, text):
        path = self.manifests / name
        tmp = self.manifests / f".{name}.tmp"
        tmp.write_text(text)
        tmp.rename(path)
        return path

    # ---------------------------------------------------------- cleanup
    def crictl_like_cleanup(self):
        """Stops and removes every sandbox left in the runtime (through ctr's CRI-less view)."""
        try:
            out = self.ctr(["containers", "list", "-q"]).stdout.split()
            for cid in out:
                subprocess.run(["ctr", "-a", str(self.socket), "-n", "k8s.io", "tasks", "kill", "-s", "SIGKILL", cid],
                               capture_output=True)
            time.sleep(0.5)
            for cid in out:
                subprocess.run(["ctr", "-a", str(self.socket), "-n", "k8s.io", "tasks", "delete", "-f", cid], capture_output=True)
                subprocess.run(["ctr", "-a", str(self.socket), "-n", "k8s.io", "containers", "delete", cid], capture_output=True)
        except (subprocess.CalledProcessError, FileNotFoundError):
            pass

    def cleanup(self):
        keep = os.environ.get("KUBELET_TEST_KEEP_LOGS")
        if keep:  # debugging aid: the daemons' logs survive the temp dir
            Path(keep).mkdir(parents=True, exist_ok=True)
            for name, path in self.logs.items():
                if path.exists():
                    shutil.copy(path, Path(keep) / f"{self.tag}-{name}.log")
        self.stop("kubeletd")
        if "containerd" in self.procs:
            self.crictl_like_cleanup()
            self.stop("containerd")
        if "swiftlet-cri" in self.procs:
            self.stop("swiftlet-cri")
            runc = self.tmp / "runc"
            for cid in (os.listdir(runc) if runc.exists() else []):
                subprocess.run([str(bin_dir() / "swiftlet-runc"), "--root", str(runc), "delete", "--force", cid],
                               capture_output=True)
        self.stop("registry")
        # Whatever still runs in the namespace (monitors, pause, containers).
        ns_pids = subprocess.run(["ip", "netns", "pids", self.ns], capture_output=True, text=True).stdout.split()
        for pid in ns_pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        # Stray shims (containerd-shim-runc-v2) started for this root.
        out = subprocess.run(["pgrep", "-f", f"{self.tmp}"], capture_output=True, text=True).stdout.split()
        for pid in out:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        # Mounts under the temp dir, deepest first.
        mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
        for m in sorted((m for m in mounts if m.startswith(str(self.tmp))), key=len, reverse=True):
            subprocess.run(["umount", "-l", m], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
        # Every v1 hierarchy, the hybrid v2 one (/sys/fs/cgroup/unified) or a pure v2 root.
        for hierarchy in [Path("/sys/fs/cgroup")] + list(Path("/sys/fs/cgroup").iterdir()):
            base = hierarchy / self.cgroup_root.lstrip("/")
            if base.is_dir():
                for d in sorted((p for p in base.rglob("*") if p.is_dir()), key=lambda p: len(str(p)), reverse=True):
                    try:
                        d.rmdir()
                    except OSError:
                        pass
                try:
                    base.rmdir()
                except OSError:
                    pass
        shutil.rmtree(self.tmp, ignore_errors=True)
        for d in Path("/var/log/pods").glob(f"*_*-{self.node_name}_*") if Path("/var/log/pods").exists() else []:
            shutil.rmtree(d, ignore_errors=True)

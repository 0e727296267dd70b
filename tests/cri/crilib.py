"""Helpers for the CRI integration tests: Python stubs generated from proto/cri at test time,
a throwaway network namespace holding swiftlet-cri and a local registry, a busybox OCI image
built from busybox-static, and a cleanup that leaves nothing behind."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from testkit import bin_dir, busybox_entries, oci_image_files  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def binaries_present():
    d = bin_dir()
    return all((d / name).exists() for name in ("swiftlet-cri", "swiftlet-monitor", "swiftlet-pause",
                                                "swiftlet-runc", "swiftlet-cni"))


_stubs = None


def stubs():
    """(api_pb2, api_pb2_grpc) generated from proto/cri/api.proto with grpcio-tools."""
    global _stubs
    if _stubs:
        return _stubs
    from grpc_tools import protoc
    out = Path(tempfile.mkdtemp(prefix="cri-stubs-"))
    import atexit
    import shutil
    atexit.register(shutil.rmtree, out, True)
    rc = protoc.main(["protoc", f"-I{REPO / 'proto' / 'cri'}", f"--python_out={out}",
                      f"--grpc_python_out={out}", "api.proto"])
    assert rc == 0, "protoc failed on proto/cri/api.proto"
    sys.path.insert(0, str(out))
    import api_pb2  # noqa: E402
    import api_pb2_grpc  # noqa: E402
    _stubs = (api_pb2, api_pb2_grpc)
    return _stubs


def sh(*args, ns=None, check=True, **kw):
    cmd = (["nsenter", f"--net=/run/netns/{ns}"] if ns else []) + [str(a) for a in args]
    return subprocess.run(cmd, check=check, capture_output=True, text=True, **kw)


# ---------------------------------------------------------------- the test image

def build_busybox_layout(dest: Path, stop_signal=None, entrypoint=None):
    """An OCI image layout at dest: one layer with busybox-static, its applets, /etc/passwd
    (root, user 1000 "app") and /etc/group."""
    entries = busybox_entries(
        extra_dirs=("home", "home/app"),
        passwd=b"app:x:1000:1000:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
        group=b"app:x:1000:\nextra:x:2000:app\nnogroup:x:65534:\n")
    config = {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "FROM_IMAGE=yes"],
              "Cmd": ["sh"], "WorkingDir": "/"}
    if stop_signal:
        config["StopSignal"] = stop_signal
    if entrypoint:
        config["Entrypoint"] = entrypoint
        config["Cmd"] = []
    for name, data in oci_image_files(entries, config, {"org.opencontainers.image.ref.name": "latest"}):
        path = dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return dest


# ---------------------------------------------------------------- environment


class Environment:
    """A network namespace with a registry on 127.0.0.1:5000 and swiftlet-cri (all its state in
    a temp dir). `cleanup()` removes pods, processes, mounts, cgroups, the namespace."""

    def __init__(self):
        self.tag = uuid.uuid4().hex[:8]
        self.ns = f"cri-{self.tag}"
        self.tmp = Path(tempfile.mkdtemp(prefix=f"cri-{self.tag}-"))
        self.bins = bin_dir()
        self.procs = []
        self.daemon = None
        self.cgroup_parent = f"/swiftlet-test-{self.tag}"
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        sh("ip", "link", "set", "lo", "up", ns=self.ns)
        self._setup_dirs()

    def _setup_dirs(self):
        t = self.tmp
        for d in ("cni-bin", "cni-conf", "root", "state", "netns", "images", "registry", "logs", "ipam", "runc"):
            (t / d).mkdir()
        cni = self.bins / "swiftlet-cni"
        for name in ("bridge", "host-local"):
            os.symlink(cni, t / "cni-bin" / name)
        os.symlink("/usr/lib/cni/portmap", t / "cni-bin" / "portmap")
        conf = {"cniVersion": "1.0.0", "name": f"critest{self.tag}", "plugins": [
            {"type": "bridge", "bridge": f"crib{self.tag[:6]}", "isGateway": True, "isDefaultGateway": True,
             "ipMasq": False, "hairpinMode": True,
             "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.89.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}],
                      "dataDir": str(t / "ipam")}},
            {"type": "portmap", "capabilities": {"portMappings": True}}]}
        (t / "cni-conf" / "10-test.conflist").write_text(json.dumps(conf))
        (t / "registries.yaml").write_text('registries:\n  "127.0.0.1:5000":\n    plainHTTP: true\n')
        self.socket = t / "cri.sock"
        self.config = {
            "listen": str(self.socket), "root_dir": str(t / "root"), "state_dir": str(t / "state"),
            "netns_dir": str(t / "netns"), "image_dir": str(t / "images"), "runtime_root": str(t / "runc"),
            "cni_conf_dir": str(t / "cni-conf"), "cni_bin_dirs": [str(t / "cni-bin")],
            "cgroup_enforcement": False, "restrict_oom_score_adj": True, "cgroup_parent": self.cgroup_parent,
            "registry_config": str(t / "registries.yaml"), "log_level": "debug"}
        self.config_path = t / "cri.json"
        self.config_path.write_text(json.dumps(self.config))

    # registry ---------------------------------------------------------------
    def start_registry(self):
        cfg = self.tmp / "registry.yml"
        cfg.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {self.tmp / 'registry'}\n"
                       "  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:5000\n")
        log = open(self.tmp / "registry.log", "w")
        p = subprocess.Popen(["nsenter", f"--net=/run/netns/{self.ns}", "docker-registry", "serve", str(cfg)],
                             stdout=log, stderr=log, start_new_session=True)
        self.procs.append(p)
        for _ in range(100):
            probe = "import socket; socket.create_connection(('127.0.0.1', 5000), 1)"
            if sh(sys.executable, "-c", probe, ns=self.ns, check=False).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError("registry did not start: " + (self.tmp / "registry.log").read_text())

    def push(self, layout: Path, ref: str):
        sh("skopeo", "copy", "--format", "v2s2", "--dest-tls-verify=false", f"oci:{layout}:latest", f"docker://127.0.0.1:5000/{ref}",
           ns=self.ns)

    # daemon -----------------------------------------------------------------
    def start_daemon(self, extra_config=None, wait=True):
        if extra_config:
            cfg = dict(self.config, **extra_config)
            self.config_path.write_text(json.dumps(cfg))
        log = open(self.tmp / "logs" / "cri.log", "a")
        self.daemon = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{self.ns}", str(self.bins / "swiftlet-cri"), "--config", str(self.config_path)],
            stdout=log, stderr=log, start_new_session=True)
        if wait:
            self.wait_socket()
        return self.daemon

    def wait_socket(self, timeout=30):
        import grpc
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.daemon.poll() is not None:
                raise RuntimeError("swiftlet-cri exited: " + self.daemon_log())
            if self.socket.exists():
                try:
                    channel = grpc.insecure_channel(f"unix://{self.socket}")
                    grpc.channel_ready_future(channel).result(timeout=1)
                    channel.close()
                    return
                except Exception:
                    pass
            time.sleep(0.05)
        raise RuntimeError("swiftlet-cri did not listen: " + self.daemon_log())

    def daemon_log(self):
        p = self.tmp / "logs" / "cri.log"
        return p.read_text()[-4000:] if p.exists() else ""

    def kill9_daemon(self):
        os.killpg(self.daemon.pid, signal.SIGKILL)
        self.daemon.wait()

    def stop_daemon(self):
        if self.daemon and self.daemon.poll() is None:
            os.killpg(self.daemon.pid, signal.SIGTERM)
            try:
                self.daemon.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.daemon.pid, signal.SIGKILL)
                self.daemon.wait()

    def client(self):
        return Client(self.socket)

    # cleanup ----------------------------------------------------------------
    def our_processes(self):
        """Pids of processes whose command line mentions our temp dir (monitors, pause, runc)."""
        mark = str(self.tmp).encode()
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if mark in cmd:
                pids.append(int(entry))
        return pids

    def processes_in_netns(self):
        try:
            ino = os.stat(f"/run/netns/{self.ns}").st_ino
        except OSError:
            return []
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.stat(f"/proc/{entry}/ns/net").st_ino == ino:
                        pids.append(int(entry))
                except OSError:
                    pass
        return pids

    def mounts_under(self, prefix=None):
        prefix = str(prefix or self.tmp)
        out = []
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(prefix):
                out.append(point)
        return out

    def cgroup_dirs(self):
        root = "/sys/fs/cgroup" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "/sys/fs/cgroup/unified"
        base = Path(root + self.cgroup_parent)
        return [str(p) for p in base.rglob("*") if p.is_dir()] + ([str(base)] if base.exists() else [])

    def remove_all_pods(self):
        if not self.daemon or self.daemon.poll() is not None:
            return
        c = self.client()
        try:
            for s in c.rt.ListPodSandbox(c.pb.ListPodSandboxRequest()).items:
                try:
                    c.rt.StopPodSandbox(c.pb.StopPodSandboxRequest(pod_sandbox_id=s.id), timeout=60)
                    c.rt.RemovePodSandbox(c.pb.RemovePodSandboxRequest(pod_sandbox_id=s.id), timeout=60)
                except Exception as e:  # keep going; the hard cleanup follows
                    print("cleanup: removing sandbox", s.id, e)
        finally:
            c.close()

    def cleanup(self):
        self.remove_all_pods()
        self.stop_daemon()
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        for pid in self.our_processes() + self.processes_in_netns():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.2)
        runc = self.bins / "swiftlet-runc"
        if (self.tmp / "runc").exists():
            for cid in os.listdir(self.tmp / "runc"):
                subprocess.run([str(runc), "--root", str(self.tmp / "runc"), "delete", "--force", cid],
                               capture_output=True)
        for point in sorted(self.mounts_under(), key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True)
        for d in sorted(self.cgroup_dirs(), key=len, reverse=True):
            try:
                os.rmdir(d)
            except OSError:
                pass
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
        subprocess.run(["rm", "-rf", str(self.tmp)], capture_output=True)


class Client:
    def __init__(self, path):
        import grpc
        self.pb, grpc_mod = stubs()
        self.channel = grpc.insecure_channel(f"unix://{path}")
        self.rt = grpc_mod.RuntimeServiceStub(self.channel)
        self.img = grpc_mod.ImageServiceStub(self.channel)

    def close(self):
        self.channel.close()

    # conveniences ------------------------------------------------------------
    def sandbox_config(self, name=None, **kw):
        pb = self.pb
        name = name or f"pod-{uuid.uuid4().hex[:6]}"
        cfg = pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=name, namespace="default", uid=uuid.uuid4().hex, attempt=0),
            hostname=kw.pop("hostname", name), log_directory=kw.pop("log_directory", ""), **kw)
        return cfg

    def run_pod(self, cfg):
        return self.rt.RunPodSandbox(self.pb.RunPodSandboxRequest(config=cfg), timeout=60).pod_sandbox_id

    def create(self, pod_id, pod_cfg, name, image, command=None, args=None, **kw):
        pb = self.pb
        cfg = pb.ContainerConfig(metadata=pb.ContainerMetadata(name=name), image=pb.ImageSpec(image=image),
                                 command=command or [], args=args or [], **kw)
        return self.rt.CreateContainer(pb.CreateContainerRequest(pod_sandbox_id=pod_id, config=cfg,
                                                                 sandbox_config=pod_cfg), timeout=60).container_id

    def start(self, cid):
        self.rt.StartContainer(self.pb.StartContainerRequest(container_id=cid), timeout=60)

    def status(self, cid, verbose=False):
        return self.rt.ContainerStatus(self.pb.ContainerStatusRequest(container_id=cid, verbose=verbose),
                                       timeout=30).status

    def wait_exited(self, cid, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            st = self.status(cid)
            if st.state == self.pb.CONTAINER_EXITED:
                return st
            time.sleep(0.05)
        raise AssertionError(f"container {cid} did not exit")

    def exec_sync(self, cid, cmd, timeout=10):
        return self.rt.ExecSync(self.pb.ExecSyncRequest(container_id=cid, cmd=cmd, timeout=timeout), timeout=timeout + 30)

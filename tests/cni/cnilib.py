"""Helpers for the CNI integration tests: throwaway network namespaces, plugin runs, state checks.

Every namespace made here has a random name with the prefix "swcni-" and is deleted by its
fixture. Nothing here touches the machine's own namespace: plugins run inside a "host" netns
created for the test (`ip netns exec`), containers are further netns.
"""

import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from testkit import bin_dir  # noqa: E402

REFERENCE_DIR = Path("/usr/lib/cni")


def plugin_binary() -> Path:
    return bin_dir() / "swiftlet-cni"


def sh(*args, check=True, **kwargs):
    return subprocess.run(list(args), check=check, capture_output=True, text=True, **kwargs)


class Netns:
    """A named network namespace, deleted by `delete()`."""

    def __init__(self, label: str):
        self.name = f"swcni-{label}-{secrets.token_hex(3)}"
        sh("ip", "netns", "add", self.name)
        self.path = f"/run/netns/{self.name}"
        self.run("ip", "link", "set", "lo", "up")

    def run(self, *args, check=True, **kwargs):
        return sh("ip", "netns", "exec", self.name, *args, check=check, **kwargs)

    def links(self):
        out = sh("ip", "-n", self.name, "-j", "-d", "link", "show").stdout
        return json.loads(out or "[]")

    def link_names(self):
        return sorted(link["ifname"] for link in self.links())

    def addresses(self, ifname):
        out = sh("ip", "-n", self.name, "-j", "addr", "show", "dev", ifname).stdout
        data = json.loads(out or "[]")
        return [f'{a["local"]}/{a["prefixlen"]}' for entry in data for a in entry.get("addr_info", [])]

    def nft_tables(self):
        out = self.run("nft", "-j", "list", "tables").stdout
        data = json.loads(out or "{}")
        return [item["table"]["name"] for item in data.get("nftables", []) if "table" in item]

    def nft_ruleset(self):
        return self.run("nft", "list", "ruleset").stdout

    def delete(self):
        sh("ip", "netns", "del", self.name, check=False)


class PluginDir:
    """A CNI_PATH directory with `bridge` and `host-local` taken from ours or the reference."""

    def __init__(self, root: Path, bridge: str = "ours", host_local: str = "ours"):
        self.path = root
        self.path.mkdir(parents=True, exist_ok=True)
        for name, source in (("bridge", bridge), ("host-local", host_local)):
            target = plugin_binary() if source == "ours" else REFERENCE_DIR / name
            link = self.path / name
            if link.exists() or link.is_symlink():
                link.unlink()
            link.symlink_to(target)

    def plugin(self, name="bridge") -> str:
        return str(self.path / name)


class CNIError(Exception):
    def __init__(self, result):
        self.result = result
        super().__init__(json.dumps(result))


def run_plugin(host: Netns, plugins: PluginDir, command: str, config: dict, *, container_id="c1",
               netns: str = "", ifname="eth0", args: str = "", plugin="bridge", raw_stdin=None,
               timeout=60):
    """Runs one plugin command inside `host`; returns (exit status, parsed stdout or None)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "CNI_COMMAND": command,
        "CNI_PATH": str(plugins.path),
    }
    if container_id is not None:
        env["CNI_CONTAINERID"] = container_id
    if netns:
        env["CNI_NETNS"] = netns
    if ifname is not None:
        env["CNI_IFNAME"] = ifname
    if args:
        env["CNI_ARGS"] = args
    stdin = raw_stdin if raw_stdin is not None else json.dumps(config)
    proc = subprocess.run(["ip", "netns", "exec", host.name, plugins.plugin(plugin)], input=stdin,
                          capture_output=True, text=True, env=env, timeout=timeout)
    parsed = None
    if proc.stdout.strip():
        parsed = json.loads(proc.stdout)
    return proc.returncode, parsed


def ok(result):
    status, parsed = result
    if status != 0:
        raise CNIError(parsed)
    return parsed


def bridge_config(name="swnet", *, version="1.1.0", subnet="10.77.0.0/24", subnet6=None, data_dir=None,
                  bridge="cni0", is_gateway=True, default_gw=True, ip_masq=False, extra=None):
    ranges = [[{"subnet": subnet}]] if subnet else []
    if subnet6:
        ranges.append([{"subnet": subnet6}])
    config = {
        "cniVersion": version,
        "name": name,
        "type": "bridge",
        "bridge": bridge,
        "isGateway": is_gateway,
        "isDefaultGateway": default_gw,
        "ipMasq": ip_masq,
        "ipam": {"type": "host-local", "ranges": ranges, "dataDir": str(data_dir)},
    }
    if extra:
        config.update(extra)
    return config


def with_prev_result(config, result):
    merged = dict(config)
    merged["prevResult"] = result
    return merged


def allocation_files(data_dir: Path, network: str):
    directory = Path(data_dir) / network
    if not directory.exists():
        return []
    return sorted(p.name for p in directory.iterdir()
                  if not p.name.startswith(("last_reserved_ip", "lock", ".")))


def wait_for(predicate, timeout=5.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


NETCHECK = Path(__file__).with_name("netcheck.py")


class Server:
    """A TCP server in a namespace that answers each connection with the peer address it saw."""

    def __init__(self, ns: Netns, address: str, port: int = 7777):
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns.name, "python3", str(NETCHECK), "serve", address, str(port)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("ready"):
            self.stop()
            raise RuntimeError(f"server did not start: {line} {self.proc.stderr.read()}")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def connect(ns: Netns, address: str, port: int = 7777, timeout=3.0):
    """Connects from `ns`; returns the source address the server saw, or None."""
    proc = ns.run("python3", str(NETCHECK), "connect", address, str(port), str(timeout), check=False)
    if proc.returncode != 0:
        return None
    return proc.stdout.strip()


def have_reference_plugins():
    return (REFERENCE_DIR / "bridge").exists() and (REFERENCE_DIR / "host-local").exists()


def which(name):
    return shutil.which(name) is not None

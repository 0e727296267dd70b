"""Concurrency, crashes mid-ADD, GC and STATUS."""

import json
import os
import random
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from cnilib import (PluginDir, allocation_files, bridge_config, ok, plugin_binary, run_plugin,
                    wait_for, with_prev_result)


def test_100_concurrent_adds_get_distinct_addresses(host, make_netns, plugins, data_dir):
    pods = [make_netns(f"p{i}") for i in range(100)]
    config = bridge_config(data_dir=data_dir, subnet="10.80.0.0/24", ip_masq=True)

    def add(index):
        return run_plugin(host, plugins, "ADD", config, netns=pods[index].path, container_id=f"c{index}")

    with ThreadPoolExecutor(max_workers=100) as pool:
        results = list(pool.map(add, range(100)))
    failures = [parsed for status, parsed in results if status != 0]
    assert failures == []
    addresses = [parsed["ips"][0]["address"] for _, parsed in results]
    assert len(set(addresses)) == 100
    assert len(allocation_files(data_dir, "swnet")) == 100
    assert host.nft_ruleset().count("masquerade comment") == 100

    def delete(index):
        return run_plugin(host, plugins, "DEL", config, netns=pods[index].path, container_id=f"c{index}")

    with ThreadPoolExecutor(max_workers=100) as pool:
        assert all(status == 0 for status, _ in pool.map(delete, range(100)))
    assert allocation_files(data_dir, "swnet") == []
    assert [name for name in host.link_names() if name.startswith("veth")] == []
    assert "swiftlet_cni_masquerade" not in host.nft_tables()


def spawn_add(host, plugins, config, pod, container_id):
    """Starts ADD in its own process group (so the test can kill it with its children)."""
    env = {"PATH": os.environ["PATH"], "CNI_COMMAND": "ADD", "CNI_CONTAINERID": container_id,
           "CNI_NETNS": pod.path, "CNI_IFNAME": "eth0", "CNI_PATH": str(plugins.path)}
    proc = subprocess.Popen(["ip", "netns", "exec", host.name, plugins.plugin()], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
    proc.stdin.write(json.dumps(config).encode())
    proc.stdin.close()
    return proc


def kill_group(proc):
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_killed_mid_add_then_del_leaves_nothing(host, make_netns, plugins, data_dir):
    """SIGKILL at random points of ADD, then DEL: no address, veth or rule may survive."""
    config = bridge_config(data_dir=data_dir, subnet="10.81.0.0/24", ip_masq=True)
    rng = random.Random(4)
    for round_ in range(25):
        pod = make_netns(f"k{round_}")
        proc = spawn_add(host, plugins, config, pod, f"k{round_}")
        time.sleep(rng.uniform(0, 0.02))
        kill_group(proc)
        ok(run_plugin(host, plugins, "DEL", config, netns=pod.path, container_id=f"k{round_}"))
        assert pod.link_names() == ["lo"], f"round {round_}"
        assert allocation_files(data_dir, "swnet") == [], f"round {round_}"
        assert [n for n in host.link_names() if n.startswith("veth")] == [], f"round {round_}"
        assert "swiftlet_cni_masquerade" not in host.nft_tables(), f"round {round_}"
        leftovers = [p for p in (data_dir / "swnet").iterdir() if p.name.startswith(".")] if (data_dir / "swnet").exists() else []
        assert leftovers == []


def test_killed_while_waiting_for_ipam_then_gc_releases(host, make_netns, tmp_path, data_dir):
    """ADD is killed after IPAM allocated; the runtime then forgets the container and runs GC."""
    real = tmp_path / "real"
    real.mkdir()
    (real / "host-local").symlink_to(plugin_binary())
    plugins = PluginDir(tmp_path / "slowbin")
    wrapper = tmp_path / "slowbin" / "host-local"
    wrapper.unlink()
    # Our host-local, then a long pause on ADD: the bridge is killed while it waits.
    wrapper.write_text(f"#!/bin/sh\nout=$(\"{real / 'host-local'}\"); status=$?\n"
                       f"if [ \"$CNI_COMMAND\" = ADD ]; then sleep 30; fi\necho \"$out\"; exit $status\n")
    wrapper.chmod(0o755)

    config = bridge_config(data_dir=data_dir, subnet="10.82.0.0/24")
    pod = make_netns("slow")
    proc = spawn_add(host, plugins, config, pod, "victim")
    assert wait_for(lambda: len(allocation_files(data_dir, "swnet")) == 1, timeout=10)
    kill_group(proc)

    survivor = make_netns("keep")
    fast = PluginDir(tmp_path / "fastbin")
    kept = ok(run_plugin(host, fast, "ADD", config, netns=survivor.path, container_id="keeper"))
    gc = dict(config)
    gc["cni.dev/valid-attachments"] = [{"containerID": "keeper", "ifname": "eth0"}]
    ok(run_plugin(host, fast, "GC", gc, container_id=None, ifname=None))
    assert allocation_files(data_dir, "swnet") == [kept["ips"][0]["address"].split("/")[0]]


def test_gc_removes_stale_addresses_and_masquerade_rules(host, make_netns, plugins, data_dir):
    config = bridge_config(data_dir=data_dir, subnet="10.83.0.0/24", ip_masq=True)
    pods = [make_netns(f"g{i}") for i in range(3)]
    results = [ok(run_plugin(host, plugins, "ADD", config, netns=p.path, container_id=f"g{i}"))
               for i, p in enumerate(pods)]
    gc = dict(config)
    gc["cni.dev/valid-attachments"] = [{"containerID": "g1", "ifname": "eth0"}]
    ok(run_plugin(host, plugins, "GC", gc, container_id=None, ifname=None))
    kept = results[1]["ips"][0]["address"].split("/")[0]
    assert allocation_files(data_dir, "swnet") == [kept]
    ruleset = host.nft_ruleset()
    assert kept in ruleset
    for dropped in (results[0], results[2]):
        assert dropped["ips"][0]["address"].split("/")[0] not in ruleset
    ok(run_plugin(host, plugins, "CHECK", with_prev_result(config, results[1]), netns=pods[1].path, container_id="g1"))

    gc["cni.dev/valid-attachments"] = []
    ok(run_plugin(host, plugins, "GC", gc, container_id=None, ifname=None))
    assert allocation_files(data_dir, "swnet") == []
    assert "swiftlet_cni_masquerade" not in host.nft_tables()


def test_status_reports_exhaustion(host, make_netns, plugins, data_dir):
    config = bridge_config(data_dir=data_dir, subnet="10.84.0.0/30")  # one usable address
    ok(run_plugin(host, plugins, "STATUS", config, container_id=None, ifname=None))
    pod = make_netns("s")
    ok(run_plugin(host, plugins, "ADD", config, netns=pod.path))
    status, error = run_plugin(host, plugins, "STATUS", config, container_id=None, ifname=None)
    assert status == 1 and error["code"] == 50
    # ADD on the exhausted range fails cleanly: code 11, nothing created.
    other = make_netns("s2")
    links = host.link_names()
    status, error = run_plugin(host, plugins, "ADD", config, netns=other.path, container_id="second")
    assert status == 1 and error["code"] == 11 and "no IP addresses available" in error["msg"]
    assert host.link_names() == links and other.link_names() == ["lo"]
    ok(run_plugin(host, plugins, "DEL", config, netns=pod.path))
    ok(run_plugin(host, plugins, "STATUS", config, container_id=None, ifname=None))
    # Older configs cannot ask for STATUS or GC.
    old = dict(config, cniVersion="1.0.0")
    status, error = run_plugin(host, plugins, "STATUS", old, container_id=None, ifname=None)
    assert status == 1 and error["code"] == 1

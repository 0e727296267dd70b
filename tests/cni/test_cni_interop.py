"""Drop-in use with Debian's reference plugins (containernetworking-plugins, /usr/lib/cni), which
speak CNI up to 1.0.0: our bridge with their host-local, their bridge with our host-local, and
both host-locals sharing one data directory."""

import pytest

from cnilib import (PluginDir, Server, allocation_files, bridge_config, connect, have_reference_plugins, ok,
                    run_plugin, with_prev_result)

pytestmark = pytest.mark.skipif(not have_reference_plugins(), reason="containernetworking-plugins not installed")


@pytest.mark.parametrize("bridge,host_local", [("ours", "reference"), ("reference", "ours")])
def test_mixed_plugins_round_trip(bridge, host_local, host, make_netns, tmp_path, data_dir, servers):
    plugins = PluginDir(tmp_path / "mixed", bridge=bridge, host_local=host_local)
    config = bridge_config(version="1.0.0", data_dir=data_dir, subnet="10.90.0.0/24")
    pods = [make_netns(f"i{i}") for i in range(2)]
    results = [ok(run_plugin(host, plugins, "ADD", config, netns=p.path, container_id=f"i{i}"))
               for i, p in enumerate(pods)]
    addresses = [r["ips"][0]["address"].split("/")[0] for r in results]
    assert addresses[0] != addresses[1]
    assert allocation_files(data_dir, "swnet") == sorted(addresses)
    # host-local's file format: "<container ID>\r\n<ifname>".
    assert (data_dir / "swnet" / addresses[0]).read_bytes() == b"i0\r\neth0"

    servers.append(Server(pods[1], addresses[1]))
    assert connect(pods[0], addresses[1]) == addresses[0]

    for index, pod in enumerate(pods):
        ok(run_plugin(host, plugins, "CHECK", with_prev_result(config, results[index]), netns=pod.path,
                      container_id=f"i{index}"))
        ok(run_plugin(host, plugins, "DEL", with_prev_result(config, results[index]), netns=pod.path,
                      container_id=f"i{index}"))
        assert pod.link_names() == ["lo"]
    assert allocation_files(data_dir, "swnet") == []


def test_host_locals_share_a_data_directory(host, tmp_path, data_dir):
    ours = PluginDir(tmp_path / "ours")
    theirs = PluginDir(tmp_path / "theirs", bridge="reference", host_local="reference")
    config = {"cniVersion": "1.0.0", "name": "shared", "type": "host-local",
              "ipam": {"type": "host-local", "subnet": "10.91.0.0/28", "dataDir": str(data_dir)}}
    seen = []
    for index in range(6):
        plugins = ours if index % 2 == 0 else theirs
        result = ok(run_plugin(host, plugins, "ADD", config, plugin="host-local", container_id=f"s{index}",
                                netns=host.path))
        seen.append(result["ips"][0]["address"])
    assert len(set(seen)) == 6
    # Each releases the other's allocations.
    for index in range(6):
        plugins = theirs if index % 2 == 0 else ours
        ok(run_plugin(host, plugins, "DEL", config, plugin="host-local", container_id=f"s{index}",
                      netns=host.path))
    assert allocation_files(data_dir, "shared") == []


def test_reference_bridge_result_is_checked_by_ours(host, make_netns, tmp_path, data_dir):
    """A result written by the reference bridge passes our CHECK (same interfaces, IPs, routes)."""
    theirs = PluginDir(tmp_path / "theirs", bridge="reference", host_local="reference")
    ours = PluginDir(tmp_path / "ours")
    config = bridge_config(version="1.0.0", data_dir=data_dir, subnet="10.92.0.0/24")
    pod = make_netns("ref")
    result = ok(run_plugin(host, theirs, "ADD", config, netns=pod.path))
    ok(run_plugin(host, ours, "CHECK", with_prev_result(config, result), netns=pod.path))
    ok(run_plugin(host, ours, "DEL", with_prev_result(config, result), netns=pod.path))
    assert pod.link_names() == ["lo"]
    assert allocation_files(data_dir, "swnet") == []

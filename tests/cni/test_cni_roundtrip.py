"""ADD / CHECK / DEL round trips for every supported spec version, and result shapes."""

import pytest

from cnilib import allocation_files, bridge_config, ok, run_plugin, with_prev_result

VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]


@pytest.mark.parametrize("version", VERSIONS)
def test_add_check_del_round_trip(version, host, make_netns, plugins, data_dir):
    pod = make_netns("pod")
    config = bridge_config(version=version, data_dir=data_dir)
    result = ok(run_plugin(host, plugins, "ADD", config, netns=pod.path))

    assert result["cniVersion"] == version
    names = [i["name"] for i in result["interfaces"]]
    assert names[0] == "cni0" and names[2] == "eth0"
    assert result["interfaces"][2]["sandbox"] == pod.path
    ip = result["ips"][0]
    assert ip["address"].startswith("10.77.0.") and ip["gateway"] == "10.77.0.1" and ip["interface"] == 2
    if version < "1.0.0":
        assert ip["version"] == "4"
    else:
        assert "version" not in ip
    assert {"dst": "0.0.0.0/0", "gw": "10.77.0.1"} in result["routes"]

    # The kernel agrees with the result.
    assert ip["address"] in pod.addresses("eth0")
    assert "10.77.0.1/24" in host.addresses("cni0")
    veth = [link for link in host.links() if link["ifname"] == names[1]][0]
    assert veth.get("master") == "cni0"
    assert allocation_files(data_dir, "swnet") == [ip["address"].split("/")[0]]

    status, error = run_plugin(host, plugins, "CHECK", with_prev_result(config, result), netns=pod.path)
    if version >= "0.4.0":
        assert status == 0, error
    else:
        assert status == 1 and error["code"] == 1

    ok(run_plugin(host, plugins, "DEL", with_prev_result(config, result), netns=pod.path))
    assert pod.link_names() == ["lo"]
    assert names[1] not in host.link_names()
    assert allocation_files(data_dir, "swnet") == []
    # DEL again, and DEL with the namespace gone, both succeed.
    ok(run_plugin(host, plugins, "DEL", config, netns=pod.path))
    pod.delete()
    ok(run_plugin(host, plugins, "DEL", config, netns=pod.path))
    ok(run_plugin(host, plugins, "DEL", config, netns=""))


def test_check_notices_a_missing_address_and_interface(host, make_netns, plugins, data_dir):
    pod = make_netns("pod")
    config = bridge_config(data_dir=data_dir)
    result = ok(run_plugin(host, plugins, "ADD", config, netns=pod.path))
    checked = with_prev_result(config, result)
    ok(run_plugin(host, plugins, "CHECK", checked, netns=pod.path))

    pod.run("ip", "addr", "del", result["ips"][0]["address"], "dev", "eth0")
    status, error = run_plugin(host, plugins, "CHECK", checked, netns=pod.path)
    assert status == 1 and "address" in error["msg"]

    pod.run("ip", "link", "del", "eth0")
    status, error = run_plugin(host, plugins, "CHECK", checked, netns=pod.path)
    assert status == 1 and "eth0" in error["msg"]
    ok(run_plugin(host, plugins, "DEL", checked, netns=pod.path))


def test_add_options_mtu_mac_hairpin_promisc(host, make_netns, plugins, data_dir):
    pod = make_netns("pod")
    config = bridge_config(data_dir=data_dir, extra={"mtu": 1400, "hairpinMode": True,
                                                     "runtimeConfig": {"mac": "0a:58:0a:4d:00:09"}})
    result = ok(run_plugin(host, plugins, "ADD", config, netns=pod.path))
    eth0 = [link for link in pod.links() if link["ifname"] == "eth0"][0]
    assert eth0["mtu"] == 1400
    assert eth0["address"] == "0a:58:0a:4d:00:09"
    assert result["interfaces"][2]["mac"] == "0a:58:0a:4d:00:09"
    veth = [link for link in host.links() if link["ifname"] == result["interfaces"][1]["name"]][0]
    assert veth["mtu"] == 1400
    assert veth["linkinfo"]["info_slave_data"]["hairpin"] is True
    ok(run_plugin(host, plugins, "DEL", config, netns=pod.path))

    promisc = bridge_config(name="promnet", bridge="br-prom", subnet="10.78.0.0/24", data_dir=data_dir,
                            extra={"promiscMode": True})
    result = ok(run_plugin(host, plugins, "ADD", promisc, netns=pod.path))
    bridge = [link for link in host.links() if link["ifname"] == "br-prom"][0]
    assert "PROMISC" in bridge["flags"]
    ok(run_plugin(host, plugins, "CHECK", with_prev_result(promisc, result), netns=pod.path))
    ok(run_plugin(host, plugins, "DEL", promisc, netns=pod.path))


def test_second_add_of_same_ifname_fails_without_side_effects(host, make_netns, plugins, data_dir):
    pod = make_netns("pod")
    config = bridge_config(data_dir=data_dir)
    ok(run_plugin(host, plugins, "ADD", config, netns=pod.path))
    links_before = host.link_names()
    status, error = run_plugin(host, plugins, "ADD", config, netns=pod.path, container_id="other")
    assert status == 1 and "CNI_IFNAME" in error["msg"]
    assert host.link_names() == links_before
    assert len(allocation_files(data_dir, "swnet")) == 1


def test_l2_only_bridge_without_ipam(host, make_netns, plugins):
    pod = make_netns("pod")
    config = {"cniVersion": "1.1.0", "name": "l2net", "type": "bridge", "bridge": "br-l2"}
    result = ok(run_plugin(host, plugins, "ADD", config, netns=pod.path))
    assert "ips" not in result
    assert "UP" in [link for link in pod.links() if link["ifname"] == "eth0"][0]["flags"]
    ok(run_plugin(host, plugins, "DEL", config, netns=pod.path))
    assert pod.link_names() == ["lo"]

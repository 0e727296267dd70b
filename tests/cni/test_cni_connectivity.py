"""Traffic: pods on one bridge reach each other and the gateway; masquerade to an "outside"
namespace; dual stack."""

import json

from cnilib import Server, bridge_config, connect, ok, run_plugin, with_prev_result


def address(result, family=4):
    for ip in result["ips"]:
        plain = ip["address"].split("/")[0]
        if (":" in plain) == (family == 6):
            return plain
    raise AssertionError(f"no IPv{family} address in {result}")


def test_two_pods_reach_each_other_and_the_gateway(host, make_netns, plugins, data_dir, servers):
    pod_a, pod_b = make_netns("a"), make_netns("b")
    config = bridge_config(data_dir=data_dir)
    result_a = ok(run_plugin(host, plugins, "ADD", config, netns=pod_a.path, container_id="a"))
    result_b = ok(run_plugin(host, plugins, "ADD", config, netns=pod_b.path, container_id="b"))
    ip_a, ip_b = address(result_a), address(result_b)
    assert ip_a != ip_b

    servers.append(Server(pod_b, ip_b))
    assert connect(pod_a, ip_b) == ip_a
    servers.append(Server(host, "10.77.0.1"))
    assert connect(pod_a, "10.77.0.1") == ip_a
    assert connect(pod_b, "10.77.0.1") == ip_b

    ok(run_plugin(host, plugins, "DEL", config, netns=pod_b.path, container_id="b"))
    assert connect(pod_a, ip_b, timeout=1.0) is None


def make_outside(host, make_netns):
    """An "internet" namespace joined to the host by a veth; it has no route to the pods."""
    outside = make_netns("out")
    host.run("ip", "link", "add", "uplink", "type", "veth", "peer", "name", "wan", "netns", outside.name)
    host.run("ip", "addr", "add", "192.0.2.1/24", "dev", "uplink")
    host.run("ip", "-6", "addr", "add", "2001:db8:ff::1/64", "dev", "uplink", "nodad")
    host.run("ip", "link", "set", "uplink", "up")
    outside.run("ip", "addr", "add", "192.0.2.2/24", "dev", "wan")
    outside.run("ip", "-6", "addr", "add", "2001:db8:ff::2/64", "dev", "wan", "nodad")
    outside.run("ip", "link", "set", "wan", "up")
    return outside


def test_masquerade_to_the_outside(host, make_netns, plugins, data_dir, servers):
    outside = make_outside(host, make_netns)
    pod = make_netns("pod")
    config = bridge_config(data_dir=data_dir, ip_masq=True)
    result = ok(run_plugin(host, plugins, "ADD", config, netns=pod.path))
    servers.append(Server(outside, "192.0.2.2"))
    # The outside has no route back to 10.77.0.0/24: only a masqueraded connection works.
    assert connect(pod, "192.0.2.2") == "192.0.2.1"
    assert "swiftlet_cni_masquerade" in host.nft_tables()
    # Traffic inside the pod subnet is not masqueraded.
    servers.append(Server(host, "10.77.0.1", 7778))
    assert connect(pod, "10.77.0.1", 7778) == address(result)
    ok(run_plugin(host, plugins, "CHECK", with_prev_result(config, result), netns=pod.path))

    ok(run_plugin(host, plugins, "DEL", config, netns=pod.path))
    assert "swiftlet_cni_masquerade" not in host.nft_tables()


def test_masquerade_rules_are_per_attachment(host, make_netns, plugins, data_dir):
    pods = [make_netns(f"p{i}") for i in range(2)]
    config = bridge_config(data_dir=data_dir, ip_masq=True)
    results = [ok(run_plugin(host, plugins, "ADD", config, netns=p.path, container_id=f"c{i}"))
               for i, p in enumerate(pods)]
    ruleset = host.nft_ruleset()
    for result in results:
        assert f"ip saddr {address(result)} ip daddr != 10.77.0.0/24 masquerade" in ruleset
    ok(run_plugin(host, plugins, "DEL", config, netns=pods[0].path, container_id="c0"))
    ruleset = host.nft_ruleset()
    assert address(results[0]) not in ruleset and address(results[1]) in ruleset
    # CHECK notices the rules of an attachment are gone.
    host.run("nft", "flush", "chain", "inet", "swiftlet_cni_masquerade", "masq_checks")
    status, error = run_plugin(host, plugins, "CHECK", with_prev_result(config, results[1]),
                               netns=pods[1].path, container_id="c1")
    assert status == 1 and "masquerade" in error["msg"]


def test_dual_stack(host, make_netns, plugins, data_dir, servers):
    outside = make_outside(host, make_netns)
    pod_a, pod_b = make_netns("a"), make_netns("b")
    config = bridge_config(data_dir=data_dir, subnet6="fd77::/64", ip_masq=True)
    result_a = ok(run_plugin(host, plugins, "ADD", config, netns=pod_a.path, container_id="a"))
    result_b = ok(run_plugin(host, plugins, "ADD", config, netns=pod_b.path, container_id="b"))
    assert len(result_a["ips"]) == 2
    assert {"dst": "::/0", "gw": "fd77::1"} in result_a["routes"]
    assert "fd77::1/64" in host.addresses("cni0")

    v6_a, v6_b = address(result_a, 6), address(result_b, 6)
    servers.append(Server(pod_b, v6_b))
    assert connect(pod_a, v6_b) == v6_a
    servers.append(Server(host, "fd77::1", 7779))
    assert connect(pod_a, "fd77::1", 7779) == v6_a
    servers.append(Server(outside, "2001:db8:ff::2", 7780))
    assert connect(pod_a, "2001:db8:ff::2", 7780) == "2001:db8:ff::1"
    ok(run_plugin(host, plugins, "CHECK", with_prev_result(config, result_a), netns=pod_a.path, container_id="a"))
    forwarding = host.run("cat", "/proc/sys/net/ipv6/conf/all/forwarding").stdout.strip()
    assert forwarding == "1"

    for pod, cid in ((pod_a, "a"), (pod_b, "b")):
        ok(run_plugin(host, plugins, "DEL", config, netns=pod.path, container_id=cid))
    assert "swiftlet_cni_masquerade" not in host.nft_tables()
    assert json.loads(host.run("ip", "-j", "link", "show", "type", "veth").stdout or "[]") == [
        link for link in json.loads(host.run("ip", "-j", "link", "show", "type", "veth").stdout or "[]")
        if link["ifname"] == "uplink"]

"""Bad input: the spec's error JSON with the right code and the field named, nothing half-created."""

import pytest

from cnilib import allocation_files, bridge_config, run_plugin


def assert_untouched(host, pod, data_dir):
    assert [n for n in host.link_names() if n.startswith("veth")] == []
    assert pod.link_names() == ["lo"]
    assert allocation_files(data_dir, "swnet") == []
    assert "swiftlet_cni_masquerade" not in host.nft_tables()


def config_with(data_dir, **changes):
    config = bridge_config(data_dir=data_dir, ip_masq=True)
    for key, value in changes.items():
        if key.startswith("ipam_"):
            config["ipam"][key[5:]] = value
        else:
            config[key] = value
    return config


CASES = [
    # (description, stdin override or config changes, expected code, word in msg)
    ("invalid JSON", '{"cniVersion": "1.1.0", "name": ', 6, "stdin"),
    ("not an object", "[]", 6, "object"),
    ("missing name", {"name": None}, 7, "name"),
    ("wrong-typed isGateway", {"isGateway": "true"}, 6, "isGateway"),
    ("unsupported version", {"cniVersion": "9.9.9"}, 1, "cniVersion"),
    ("bad CIDR", {"ipam_ranges": [[{"subnet": "10.1.2/24"}]]}, 7, "ipam.ranges[0][0].subnet"),
    ("subnet with host bits", {"ipam_ranges": [[{"subnet": "10.1.2.3/24"}]]}, 7, "ipam.ranges[0][0].subnet"),
    ("range end outside subnet", {"ipam_ranges": [[{"subnet": "10.1.2.0/24", "rangeEnd": "10.9.9.9"}]]}, 7, "rangeEnd"),
    ("bad gateway", {"ipam_ranges": [[{"subnet": "10.1.2.0/24", "gateway": "fd00::1"}]]}, 7, "gateway"),
    ("no ranges", {"ipam_ranges": []}, 7, "ipam.ranges"),
    ("bad route", {"ipam_routes": [{"dst": "default"}]}, 7, "ipam.routes[0].dst"),
    ("bad mtu", {"mtu": 10}, 7, "mtu"),
    ("bad mac", {"runtimeConfig": {"mac": "not-a-mac"}}, 7, "runtimeConfig.mac"),
    ("unknown ipam plugin", {"ipam_type": "no-such-ipam"}, 4, "CNI_PATH"),
]


@pytest.mark.parametrize("name,change,code,word", CASES, ids=[c[0] for c in CASES])
def test_bad_config(name, change, code, word, host, make_netns, plugins, data_dir):
    pod = make_netns("bad")
    if isinstance(change, str):
        status, error = run_plugin(host, plugins, "ADD", None, netns=pod.path, raw_stdin=change)
    else:
        config = config_with(data_dir, **change)
        config = {k: v for k, v in config.items() if v is not None}
        status, error = run_plugin(host, plugins, "ADD", config, netns=pod.path)
    assert status == 1
    assert error["code"] == code, error
    assert word in error["msg"], error
    assert "cniVersion" in error
    assert_untouched(host, pod, data_dir)


def test_unknown_command(host, make_netns, plugins, data_dir):
    pod = make_netns("bad")
    status, error = run_plugin(host, plugins, "FROBNICATE", config_with(data_dir), netns=pod.path)
    assert status == 1 and error["code"] == 4 and "CNI_COMMAND" in error["msg"]


def test_missing_environment(host, make_netns, plugins, data_dir):
    pod = make_netns("bad")
    status, error = run_plugin(host, plugins, "ADD", config_with(data_dir), netns=pod.path, container_id=None)
    assert status == 1 and error["code"] == 4 and "CNI_CONTAINERID" in error["msg"]
    status, error = run_plugin(host, plugins, "ADD", config_with(data_dir), netns="")
    assert status == 1 and error["code"] == 4 and "CNI_NETNS" in error["msg"]
    assert_untouched(host, pod, data_dir)


def test_netns_that_is_not_one(host, make_netns, plugins, data_dir, tmp_path):
    pod = make_netns("bad")
    plain = tmp_path / "not-a-netns"
    plain.write_text("")
    status, error = run_plugin(host, plugins, "ADD", config_with(data_dir), netns=str(plain))
    assert status == 1 and error["code"] == 4 and "CNI_NETNS" in error["msg"]
    # A namespace of another type is refused too.
    status, error = run_plugin(host, plugins, "ADD", config_with(data_dir), netns="/proc/self/ns/uts")
    assert status == 1 and error["code"] == 4 and "CNI_NETNS" in error["msg"]
    status, error = run_plugin(host, plugins, "ADD", config_with(data_dir), netns=str(tmp_path / "missing"))
    assert status == 1 and error["code"] == 3 and "CNI_NETNS" in error["msg"]
    assert_untouched(host, pod, data_dir)
    # DEL with such paths still succeeds (nothing to clean up there).
    assert run_plugin(host, plugins, "DEL", config_with(data_dir), netns=str(plain))[0] == 0
    assert run_plugin(host, plugins, "DEL", config_with(data_dir), netns=str(tmp_path / "missing"))[0] == 0


def test_bridge_name_taken_by_another_device(host, make_netns, plugins, data_dir):
    pod = make_netns("bad")
    host.run("ip", "link", "add", "cni0", "type", "veth", "peer", "name", "cni0peer")
    status, error = run_plugin(host, plugins, "ADD", config_with(data_dir), netns=pod.path)
    assert status == 1 and error["code"] == 7 and "bridge" in error["msg"]
    assert [n for n in host.link_names() if n.startswith("veth")] == []
    assert pod.link_names() == ["lo"] and allocation_files(data_dir, "swnet") == []


def test_gc_without_valid_attachments(host, plugins, data_dir):
    status, error = run_plugin(host, plugins, "GC", config_with(data_dir), container_id=None, ifname=None)
    assert status == 1 and error["code"] == 7 and "cni.dev/valid-attachments" in error["msg"]

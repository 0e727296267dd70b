"""Fixtures for the CNI integration tests. They need root and the built swiftlet-cni binary
(found through $SWIFTLET_BIN_DIR, default .build/debug); without either they skip."""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import cnilib  # noqa: E402


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    reason = None
    if os.geteuid() != 0:
        reason = "CNI integration tests need root (network namespaces)"
    elif not cnilib.plugin_binary().exists():
        reason = f"swiftlet-cni not built at {cnilib.plugin_binary()} (set SWIFTLET_BIN_DIR)"
    if reason:
        for item in items:
            if Path(str(item.fspath)).parent == here:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def make_netns():
    """Factory for throwaway namespaces; all are deleted at teardown, pass or fail."""
    created = []

    def make(label="ns"):
        ns = cnilib.Netns(label)
        created.append(ns)
        return ns

    yield make
    for ns in reversed(created):
        ns.delete()


@pytest.fixture
def host(make_netns):
    """The namespace the plugin runs in (the "node")."""
    return make_netns("host")


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "ipam"


@pytest.fixture
def plugins(tmp_path):
    return cnilib.PluginDir(tmp_path / "bin")


@pytest.fixture
def servers():
    started = []
    yield started
    for server in started:
        server.stop()

"""Fixtures for the CRI integration tests: one throwaway network namespace per session holding
a local registry and swiftlet-cri; every pod a test makes is removed after it. Needs root and
the built binaries (through $SWIFTLET_BIN_DIR); otherwise the suite skips."""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

import crilib  # noqa: E402

IMAGE = "127.0.0.1:5000/test/busybox:1"
STOP_IMAGE = "127.0.0.1:5000/test/busybox-stopsig:1"


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    reason = None
    if os.geteuid() != 0:
        reason = "CRI integration tests need root"
    elif not crilib.binaries_present():
        reason = f"swiftlet binaries not built in {crilib.bin_dir()} (set SWIFTLET_BIN_DIR)"
    if reason:
        for item in items:
            if Path(str(item.fspath)).parent == here:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def env(tmp_path_factory):
    e = crilib.Environment()
    try:
        e.start_registry()
        layout = crilib.build_busybox_layout(tmp_path_factory.mktemp("layout"))
        e.push(layout, "test/busybox:1")
        layout2 = crilib.build_busybox_layout(tmp_path_factory.mktemp("layout2"), stop_signal="SIGUSR1")
        e.push(layout2, "test/busybox-stopsig:1")
        e.start_daemon()
        yield e
    finally:
        e.cleanup()


@pytest.fixture(scope="session")
def images(env):
    """The test images, pulled through the CRI from the local registry."""
    c = env.client()
    try:
        for ref in (IMAGE, STOP_IMAGE):
            c.img.PullImage(c.pb.PullImageRequest(image=c.pb.ImageSpec(image=ref)), timeout=120)
    finally:
        c.close()
    return IMAGE, STOP_IMAGE


@pytest.fixture
def cri(env):
    """A client; every sandbox still there at the end of the test is stopped and removed."""
    if env.daemon is None or env.daemon.poll() is not None:
        env.start_daemon()
    c = env.client()
    yield c
    c.close()
    env.remove_all_pods()

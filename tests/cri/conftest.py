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
        c = e.client()
        c.img.PullImage(c.pb.PullImageRequest(image=c.pb.ImageSpec(image=IMAGE)), timeout=120)
        c.img.PullImage(c.pb.PullImageRequest(image=c.pb.ImageSpec(image=STOP_IMAGE)), timeout=120)
        c.close()
        yield e
    finally:
        e.cleanup()


@pytest.fixture
def cri(env):
    """A client; every sandbox still there at the end of the test is stopped and removed."""
    if env.daemon is None or env.daemon.poll() is not None:
        env.start_daemon()
    c = env.client()
    yield c
    c.close()
    env.remove_all_pods()

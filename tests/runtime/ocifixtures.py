"""Fixtures for the runtime-agnostic OCI conformance suite (shared by
tests/runtime/conftest.py and tests/vm/conftest.py).

    pytest tests/runtime --runtime /usr/sbin/runc        # validate the tests
    pytest tests/runtime                                  # our runtime (default path)

--runtime defaults to $SWIFTLET_RUNTIME, else <repo>/.build/debug/swiftlet-runc.
--runtime-args (or $SWIFTLET_RUNTIME_ARGS) adds global flags before the verb.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from ocitest import Bundle, Runtime, new_id, template_rootfs  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def default_runtime() -> str:
    return os.environ.get("SWIFTLET_RUNTIME") or str(REPO / ".build" / "debug" / "swiftlet-runc")


def pytest_addoption(parser):
    # tests/vm/conftest.py registers the same options; whichever loads first wins.
    try:
        parser.addoption("--runtime", default=None,
                         help="OCI runtime binary (default: $SWIFTLET_RUNTIME or .build/debug/swiftlet-runc)")
        parser.addoption("--runtime-args", default=os.environ.get("SWIFTLET_RUNTIME_ARGS", ""),
                         help="extra global flags passed to every runtime invocation")
    except ValueError:
        pass


@pytest.fixture(scope="session")
def runtime_path(request) -> str:
    if os.geteuid() != 0:
        pytest.skip("runtime conformance tests need root")
    path = request.config.getoption("--runtime") or default_runtime()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"runtime binary not found or not executable: {path} (use --runtime PATH)")
    if not os.path.exists("/bin/busybox"):
        pytest.skip("busybox-static (/bin/busybox) not installed")
    return os.path.realpath(path)


@pytest.fixture(scope="session")
def runtime_args(request) -> list[str]:
    return shlex.split(request.config.getoption("--runtime-args") or "")


@pytest.fixture(scope="session")
def rootfs_template(tmp_path_factory, runtime_path) -> Path:
    return template_rootfs(tmp_path_factory.mktemp("rootfs"))


@pytest.fixture
def rt(runtime_path, runtime_args, tmp_path) -> Runtime:
    """The runtime under test, with a fresh --root state dir for this test."""
    root = tmp_path / "state"
    root.mkdir()
    return Runtime(runtime_path, root, runtime_args)


@pytest.fixture
def is_swiftlet(rt) -> bool:
    """True when the runtime under test is ours: gates the few assertions the
    issue demands beyond what runc does (documented where used)."""
    return rt.is_swiftlet


@pytest.fixture
def make_bundle(rt, rootfs_template, tmp_path):
    """Factory for extra bundles; every bundle is cleaned up even on failure."""
    made: list[Bundle] = []

    def make(name: str | None = None) -> Bundle:
        cid = new_id()
        b = Bundle(rt, tmp_path / (name or f"bundle-{len(made)}"), rootfs_template, cid)
        made.append(b)
        return b

    yield make
    for b in reversed(made):
        b.cleanup()


@pytest.fixture
def bundle(make_bundle) -> Bundle:
    return make_bundle("bundle")

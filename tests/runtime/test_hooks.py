"""OCI hooks: order, state on stdin, args/env, timeouts and failures."""

import json
import os
import time

import pytest

HOOK_SCRIPT = """#!/bin/sh
# $1: hook name. Appends "<name> <HOOKVAR> <state json>" to $LOG.
printf '%s %s %s\\n' "$1" "$HOOKVAR" "$(cat)" >> "$LOG"
"""

ORDER = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]


def expected_order(rt):
    """Hook names logged after create, after start, after delete."""
    if rt.lacks("poststart-after-start"):
        early = ORDER[:3] + ["poststart"]
        return early, early + ["startContainer"], early + ["startContainer", "poststop"]
    return ORDER[:3], ORDER[:5], ORDER


@pytest.fixture
def hooks(bundle):
    """A hook dir reachable at the same absolute path from the host and from
    inside the container (startContainer runs in the container's root)."""
    d = bundle.path / "hooks"
    d.mkdir()
    script = d / "hook.sh"
    script.write_text(HOOK_SCRIPT)
    script.chmod(0o755)
    log = d / "log"
    log.touch()
    log.chmod(0o666)
    inside = bundle.rootfs / str(d).lstrip("/")
    inside.mkdir(parents=True)
    bundle.add_mount(destination=str(d), type="bind", source=str(d), options=["rbind", "rw"])

    def hook(name, **extra):
        return {"path": str(script), "args": ["hook.sh", name],
                "env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", f"LOG={log}", "HOOKVAR=v-" + name], **extra}

    def entries():
        out = []
        for line in log.read_text().splitlines():
            name, var, state = line.split(" ", 2)
            out.append((name, var, json.loads(state) if state.strip() else None))
        return out

    return hook, entries


def test_hooks_order_and_state(rt, bundle, hooks):
    hook, entries = hooks
    bundle.config["hooks"] = {name: [hook(name)] for name in ORDER}
    bundle.args("true")
    after_create, after_start, after_delete = expected_order(rt)
    rt.create(bundle)
    assert [e[0] for e in entries()] == after_create
    rt.ok("start", bundle.id)
    rt.wait_status(bundle.id, "stopped")
    assert [e[0] for e in entries()] == after_start
    rt.ok("delete", bundle.id)
    log = entries()
    assert [e[0] for e in log] == after_delete
    for name, var, state in log:
        assert var == "v-" + name  # hook env honoured
        assert state is not None, name
        assert state["id"] == bundle.id, name
        assert os.path.realpath(state["bundle"]) == os.path.realpath(bundle.path), name
        assert "status" in state and "ociVersion" in state, name
        if name != "poststop":
            assert state["pid"] > 0, name
    assert {e[0]: e[2]["status"] for e in log}["poststop"] == "stopped"


def test_multiple_hooks_run_in_list_order(rt, bundle, hooks):
    hook, entries = hooks
    bundle.config["hooks"] = {"createRuntime": [hook("first"), hook("second"), hook("third")]}
    bundle.args("true")
    rt.create(bundle)
    assert [e[0] for e in entries()] == ["first", "second", "third"]


def test_hooks_with_run(rt, bundle, hooks):
    hook, entries = hooks
    bundle.config["hooks"] = {name: [hook(name)] for name in ORDER}
    bundle.args("true")
    r = rt.run(bundle)
    assert r.returncode == 0, r.stderr
    assert [e[0] for e in entries()] == expected_order(rt)[2]


def test_hook_timeout_fails_create(rt, bundle, hooks):
    hook, entries = hooks
    slow = {"path": "/bin/sleep", "args": ["sleep", "20"], "timeout": 1}
    bundle.config["hooks"] = {"createRuntime": [slow]}
    bundle.args("true")
    t0 = time.monotonic()
    r = rt.create(bundle, check=False)
    assert r.returncode != 0
    assert time.monotonic() - t0 < 15
    assert r.stderr.strip()
    bundle.assert_nothing_left()


def test_failing_hook_fails_create_and_cleans_up(rt, bundle, hooks):
    bundle.config["hooks"] = {"prestart": [{"path": "/bin/false", "args": ["false"]}]}
    bundle.args("true")
    r = rt.create(bundle, check=False)
    assert r.returncode != 0
    assert r.stderr.strip()
    bundle.assert_nothing_left()


def test_poststop_runs_on_force_delete(rt, bundle, hooks):
    hook, entries = hooks
    bundle.config["hooks"] = {"poststop": [hook("poststop")]}
    bundle.args("sleep", "30")
    rt.create(bundle)
    rt.ok("start", bundle.id)
    rt.ok("delete", "--force", bundle.id)
    assert [e[0] for e in entries()] == ["poststop"]
    bundle.assert_nothing_left()

"""Command-line spellings engines use for the per-container verbs: every accepted form must
mean the same thing (swiftlet-runc parses the common ones directly, the rest through its full
parser), and bad ones must fail without side effects."""

import subprocess

import pytest


def run_in(rt, bundle, *argv):
    with open(bundle.stdout_path, "ab") as out, open(bundle.stderr_path, "ab") as err:
        return subprocess.run([rt.path, *argv], stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                              text=True, timeout=30)


@pytest.mark.parametrize("form", ["separate", "equals", "short", "globals-after-verb"])
def test_create_spellings(rt, bundle, form):
    bundle.args("sleep", "30")
    root, path, cid = str(rt.root), str(bundle.path), bundle.id
    argv = {
        "separate": ["--root", root, "create", "--bundle", path, cid],
        "equals": [f"--root={root}", "create", f"--bundle={path}", cid],
        "short": ["--root", root, "create", "-b", path, cid],
        "globals-after-verb": ["create", "--bundle", path, "--root", root, cid],
    }[form]
    if form == "globals-after-verb" and rt.name == "runc":
        pytest.skip("runc takes global flags only before the verb")
    r = run_in(rt, bundle, *rt.extra_args, *argv) if form != "globals-after-verb" else run_in(rt, bundle, *argv, *rt.extra_args)
    assert r.returncode == 0, bundle.stderr_path.read_text()
    assert rt.state(cid)["status"] == "created"
    r = rt("kill", "-a", cid, "KILL")
    assert r.returncode == 0, r.stderr
    rt.wait_status(cid, "stopped")
    rt.ok("delete", "-f", cid)
    bundle.assert_nothing_left()


def test_kill_signal_forms(rt, bundle):
    bundle.args("sleep", "30")
    rt.create(bundle)
    rt.ok("start", bundle.id)
    for sig in ("0", "SIGCONT", "CONT"):
        rt.ok("kill", bundle.id, sig)
    assert rt.status(bundle.id) == "running"
    rt.ok("kill", bundle.id, "9")
    rt.wait_status(bundle.id, "stopped")
    rt.ok("delete", "--force", bundle.id)
    bundle.assert_nothing_left()


@pytest.mark.parametrize("argv", [
    ["create"],                                  # no id
    ["create", "--pid-file"],                    # option without its value
    ["create", "--bogus-flag", "x"],             # unknown flag
    ["start"], ["state"], ["delete"],
    ["delete", "a", "b"],                        # two ids
    ["kill", "x", "SIGTERM", "extra"],
])
def test_malformed_command_lines_fail(rt, bundle, argv):
    r = rt(*argv)
    assert r.returncode != 0
    assert r.stderr.strip(), "a refused command line says why"
    bundle.assert_nothing_left()


def test_help_still_available(rt):
    r = rt("create", "--help")
    assert r.returncode == 0
    assert "bundle" in (r.stdout + r.stderr)

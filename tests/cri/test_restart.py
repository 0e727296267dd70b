"""kill -9 of swiftlet-cri mid-run: containers keep running under their monitors; after a
restart, statuses, exit codes and logs are intact and the daemon manages them again."""

import time
from pathlib import Path

from conftest import IMAGE


def test_kill9_and_restart_keeps_containers(env, cri, images):
    pb = cri.pb
    logdir = env.tmp / "logs" / "restart"
    cfg = cri.sandbox_config(log_directory=str(logdir))
    sid = cri.run_pod(cfg)
    runner = cri.create(sid, cfg, "runner", IMAGE, command=["sh", "-c", "echo started; exec sleep 300"], log_path="r.log")
    cri.start(runner)
    ender = cri.create(sid, cfg, "ender", IMAGE, command=["sh", "-c", "sleep 1; echo bye; exit 5"], log_path="e.log")
    cri.start(ender)
    pid_before = cri.status(runner, verbose=True)
    cri.close()

    env.kill9_daemon()
    time.sleep(2)  # "ender" exits while the daemon is down
    env.start_daemon()

    c = env.client()
    try:
        st = c.status(runner)
        assert st.state == pb.CONTAINER_RUNNING
        assert c.exec_sync(runner, ["echo", "alive"]).stdout == b"alive\n"
        st = c.status(ender)
        assert st.state == pb.CONTAINER_EXITED and st.exit_code == 5 and st.reason == "Error"
        assert "bye" in Path(st.log_path).read_text()
        assert "started" in (logdir / "r.log").read_text()
        sandbox = c.rt.PodSandboxStatus(pb.PodSandboxStatusRequest(pod_sandbox_id=sid)).status
        assert sandbox.state == pb.SANDBOX_READY
        # Still fully managed: stop and remove work.
        c.rt.StopContainer(pb.StopContainerRequest(container_id=runner, timeout=1))
        assert c.status(runner).state == pb.CONTAINER_EXITED
        c.rt.StopPodSandbox(pb.StopPodSandboxRequest(pod_sandbox_id=sid))
        c.rt.RemovePodSandbox(pb.RemovePodSandboxRequest(pod_sandbox_id=sid))
    finally:
        c.close()

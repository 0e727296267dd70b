#!/usr/bin/env python3
"""Builds deployment-rich.pb and deployment-rich.json: an apps/v1 Deployment encoded by Python's
protobuf package from deployment.proto, whose pod template is the one kubectl 1.32 encoded in
job-from-cronjob.pb (the rich CronJob's template), and the JSON form of the same Deployment (its
template taken from rich-cronjob.served.json, the JSON kubectl read before encoding it).

Run after capture.py:  python3 tests/controlplane/protobuf/build_deployment.py
"""
import importlib
import json
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

HERE = Path(__file__).resolve().parent


def main():
    with tempfile.TemporaryDirectory() as out:
        if protoc.main(["protoc", f"-I{HERE}", f"--python_out={out}", str(HERE / "deployment.proto")]) != 0:
            sys.exit("protoc failed")
        sys.path.insert(0, out)
        pb = importlib.import_module("deployment_pb2")

    captured = (HERE / "job-from-cronjob.pb").read_bytes()
    assert captured[:4] == b"k8s\x00"
    envelope = pb.Unknown.FromString(captured[4:])
    job_spec = pb.JobSpecShell.FromString(pb.JobShell.FromString(envelope.raw).spec)
    template_bytes = job_spec.template
    served = json.loads((HERE / "rich-cronjob.served.json").read_text())
    template_json = served["spec"]["jobTemplate"]["spec"]["template"]

    d = pb.Deployment()
    d.metadata.name = "rich-deploy"
    d.metadata.labels["app"] = "rich"
    d.metadata.annotations["deployment.kubernetes.io/note"] = "built from a kubectl-encoded template"
    d.metadata.finalizers.append("example.com/keep")
    d.spec.replicas = 0  # set: a pointer holding zero
    d.spec.selector.matchLabels["app"] = "rich"
    req = d.spec.selector.matchExpressions.add()
    req.key, req.operator = "tier", "In"
    req.values.extend(["batch", "web"])
    d.spec.template = template_bytes
    d.spec.strategy.type = "RollingUpdate"
    d.spec.strategy.rollingUpdate.maxUnavailable.type = 1
    d.spec.strategy.rollingUpdate.maxUnavailable.strVal = "25%"
    d.spec.strategy.rollingUpdate.maxSurge.type = 0
    d.spec.strategy.rollingUpdate.maxSurge.intVal = 2
    d.spec.minReadySeconds = 5
    d.spec.revisionHistoryLimit = 0
    d.spec.paused = True
    d.spec.progressDeadlineSeconds = 600

    body = pb.Unknown()
    body.typeMeta.apiVersion = "apps/v1"
    body.typeMeta.kind = "Deployment"
    body.raw = d.SerializeToString()
    (HERE / "deployment-rich.pb").write_bytes(b"k8s\x00" + body.SerializeToString())

    expected = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "rich-deploy",
            "labels": {"app": "rich"},
            "annotations": {"deployment.kubernetes.io/note": "built from a kubectl-encoded template"},
            "finalizers": ["example.com/keep"],
        },
        "spec": {
            "replicas": 0,
            "selector": {"matchLabels": {"app": "rich"},
                         "matchExpressions": [{"key": "tier", "operator": "In", "values": ["batch", "web"]}]},
            "template": template_json,
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 2}},
            "minReadySeconds": 5,
            "revisionHistoryLimit": 0,
            "paused": True,
            "progressDeadlineSeconds": 600,
        },
    }
    (HERE / "deployment-rich.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    print(f"deployment-rich.pb: {len(body.SerializeToString()) + 4} bytes")


if __name__ == "__main__":
    main()

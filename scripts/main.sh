#!/usr/bin/env bash
# The main job: set up, build the release binaries and run a busybox container with swiftlet-runc.
# (Until the node exists this is the runtime's own demo; later issues turn it into a full node.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
swift build -c release --static-swift-stdlib --scratch-path .build-release
bin=$(swift build -c release --static-swift-stdlib --scratch-path .build-release --show-bin-path)

bundle=$(mktemp -d /tmp/swiftlet-demo.XXXXXX)
trap 'rm -rf "$bundle"' EXIT
bash scripts/make-busybox-bundle.sh "$bundle"
cd "$bundle"
"$bin/swiftlet-runc" spec
python3 - <<'PY'
import json
c = json.load(open("config.json"))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c", "echo hello from $(hostname), pid $$ in its own namespaces; id; grep -E 'CapEff|NoNewPrivs|Seccomp' /proc/self/status"]
json.dump(c, open("config.json", "w"), indent=2)
PY
echo "+ swiftlet-runc run demo"
"$bin/swiftlet-runc" --root /run/swiftlet-demo run "demo-$$"

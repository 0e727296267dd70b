#!/usr/bin/env bash
# The main job: a working swiftlet node on this machine, with embedded defaults.
#
#   bash scripts/main.sh [--netns NAME] [--no-demo] [--detach]
#   bash scripts/main.sh stop [--netns NAME]
#
# Sets the machine up (scripts/setup.sh), builds the release binaries (static Swift stdlib) and
# installs them in /usr/local/bin, writes the default configuration (only files that do not exist
# yet: edit them and run again), and starts the node: `swiftlet-cri` (CRI v1 on
# /run/swiftlet/cri.sock, pod networking with the `swiftlet-cni` bridge plugin on bridge
# `swiftlet0`, 10.90.0.0/16) and `kubeletd` serving the static pods in /etc/kubernetes/manifests.
# A demo pod (busybox httpd with probes, image imported locally: no registry needed) is added
# unless --no-demo. Then it shows the node's pods and stays in the foreground; Ctrl-C stops the
# daemons and leaves the pods running (a restarted kubeletd adopts them, like the kubelet).
# --detach returns once the node is up (logs in /var/log/swiftlet). `stop` removes the demo pod,
# waits until kubeletd has terminated it, then stops both daemons.
#
# --netns NAME runs the whole node inside network namespace NAME (created if missing): the host's
# own interfaces, routes and nftables stay untouched. Without it the node uses the host's network
# stack, like any node agent (a new bridge `swiftlet0` and an nftables table for pod masquerade).
#
# Environment: SWIFTLET_BIN_DIR=DIR uses already-built binaries from DIR instead of building;
# SWIFTLET_BUILD_DIR (default .build-release) is the scratch directory of the release build.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

action=start netns="" demo=1 detach=0
if [[ ${1:-} == stop ]]; then action=stop; shift; fi
while (($#)); do
  case $1 in
    --netns) netns=${2:?--netns needs a name}; shift 2 ;;
    --no-demo) demo=0; shift ;;
    --detach) detach=1; shift ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "main.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

etc=/etc/swiftlet
logs=/var/log/swiftlet
run=/run/swiftlet
manifests=/etc/kubernetes/manifests
demo_manifest=$manifests/swiftlet-hello.yaml
demo_image=localhost/swiftlet/busybox:stable
api=http://127.0.0.1:10255

# nsenter --net, not `ip netns exec`: the latter also makes a mount namespace with its own /sys,
# which hides the cgroup file systems from the daemons.
in_ns() { if [[ -n $netns ]]; then nsenter --net="/run/netns/$netns" "$@"; else "$@"; fi; }
say() { printf '\n== %s\n' "$*"; }
alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_daemon() {  # pidfile name
  local pidfile=$1 name=$2 pid
  alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { echo "$name did not stop within 10 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
  rm -f "$pidfile"
  echo "stopped $name (pid $pid)"
}

# Pods the kubelet reports, as "namespace/name phase ready podIP" lines.
pod_lines() {
  in_ns python3 - "$api" <<'PY'
import json, sys, urllib.request
try:
    items = json.load(urllib.request.urlopen(sys.argv[1] + "/pods", timeout=2))["items"]
except Exception:
    sys.exit(1)
for p in items:
    st = p.get("status", {})
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in st.get("conditions", []))
    print(f'{p["metadata"].get("namespace", "default")}/{p["metadata"]["name"]} {st.get("phase", "?")} {ready} {st.get("podIP", "")}')
PY
}

if [[ $action == stop ]]; then
  if alive "$run/kubeletd.pid" && [[ -f $demo_manifest ]] && grep -q 'swiftlet-demo: "true"' "$demo_manifest"; then
    rm -f "$demo_manifest"
    echo "removed the demo manifest; waiting for kubeletd to terminate the pod"
    # /runningpods is what the runtime still runs (a terminating pod is gone from /pods already).
    for _ in $(seq 120); do
      in_ns python3 -c "import urllib.request; print(urllib.request.urlopen('$api/runningpods', timeout=2).read().decode())" \
        2>/dev/null | grep -q '"hello-' || break
      sleep 0.5
    done
  fi
  stop_daemon "$run/kubeletd.pid" kubeletd
  stop_daemon "$run/swiftlet-cri.pid" swiftlet-cri
  exit 0
fi

# --- set-up and build -----------------------------------------------------------------------
bash scripts/setup.sh
if [[ -n ${SWIFTLET_BIN_DIR:-} ]]; then
  bin=$SWIFTLET_BIN_DIR
else
  scratch=${SWIFTLET_BUILD_DIR:-.build-release}
  say "building the release binaries (static Swift stdlib, kubeletd in its link order) in $scratch"
  bin=$(bash scripts/build-release.sh "$scratch")
fi
programs=(swiftlet-runc swiftlet-cri swiftlet-monitor swiftlet-pause swiftlet-image swiftlet-cni kubeletd swiftlet-node swiftlet-control-plane)
for p in "${programs[@]}"; do
  [[ -x $bin/$p ]] || { echo "main.sh: $bin/$p is missing: the build did not produce it" >&2; exit 1; }
done
# Stop a node started earlier before replacing its binaries (its pods keep running and are adopted).
stop_daemon "$run/kubeletd.pid" kubeletd
stop_daemon "$run/swiftlet-cri.pid" swiftlet-cri
install -m 0755 "${programs[@]/#/$bin/}" /usr/local/bin/
cni_bin=/usr/local/lib/swiftlet/cni
mkdir -p "$cni_bin"
ln -sf /usr/local/bin/swiftlet-cni "$cni_bin/bridge"
ln -sf /usr/local/bin/swiftlet-cni "$cni_bin/host-local"
echo "installed ${programs[*]} in /usr/local/bin; CNI plugins bridge, host-local in $cni_bin"

# --- what this host can enforce ----------------------------------------------------------------
# The cgroup v2 hierarchy: /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones.
cg2=/sys/fs/cgroup
[[ $(stat -fc %T "$cg2" 2>/dev/null) == cgroup2fs ]] || cg2=/sys/fs/cgroup/unified
controllers=$(cat "$cg2/cgroup.controllers" 2>/dev/null || true)
enforce=true
for c in cpu memory pids; do
  [[ " $controllers " == *" $c "* ]] || enforce=false
done
if [[ $enforce == false ]]; then
  echo "WARNING: the cgroup v2 hierarchy at $cg2 has controllers '${controllers}', not cpu, memory and pids:"
  echo "         pod resource limits cannot be enforced here (cgroup_enforcement: false, cgroupsPerQOS: false)."
fi
capeff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
clamp=false
if (( (0x$capeff >> 24 & 1) == 0 )); then
  clamp=true
  echo "WARNING: no CAP_SYS_RESOURCE: negative oom_score_adj values are clamped (restrict_oom_score_adj: true)."
fi

mkdir -p /var/lib/swiftlet
free_pct=$(df --output=avail,size -B1 /var/lib/swiftlet | awk 'NR == 2 {printf "%d", $1 * 100 / $2}')
if ((free_pct < 16)); then
  echo "WARNING: only ${free_pct}% of the file system holding /var/lib/swiftlet is free: kubeletd's default"
  echo "         evictionHard (upstream's: imagefs.available 15%, nodefs.available 10%) evicts pods below that."
fi

# --- default configuration (existing files are kept) --------------------------------------------
mkdir -p "$etc/cni/net.d" "$logs" "$run" "$manifests" /var/lib/kubelet
write_default() {  # path: content on stdin, written only when the file does not exist
  if [[ -e $1 ]]; then cat >/dev/null; echo "keeping $1"; else cat >"$1"; echo "wrote $1"; fi
}
write_default "$etc/cri.json" <<EOF
{
  "listen": "$run/cri.sock",
  "root_dir": "/var/lib/swiftlet/cri",
  "state_dir": "$run/cri",
  "image_dir": "/var/lib/swiftlet/images",
  "cni_conf_dir": "$etc/cni/net.d",
  "cni_bin_dirs": ["$cni_bin", "/usr/lib/cni", "/opt/cni/bin"],
  "cgroup_enforcement": $enforce,
  "restrict_oom_score_adj": $clamp
}
EOF
write_default "$etc/cni/net.d/10-swiftlet.conflist" <<'EOF'
{
  "cniVersion": "1.1.0",
  "name": "swiftlet",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "swiftlet0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "10.90.0.0/16"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
EOF
write_default "$etc/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
staticPodPath: $manifests
containerRuntimeEndpoint: unix://$run/cri.sock
cgroupsPerQOS: $enforce
clusterDomain: cluster.local
# The read-only API (pods, metrics, logs) for swiftlet-node, on loopback only.
address: 127.0.0.1
readOnlyPort: 10255
healthzPort: 10248
maxPods: 110
EOF

# --- the demo image and pod ----------------------------------------------------------------------
if ((demo)); then
  if ! swiftlet-image inspect "$demo_image" >/dev/null 2>&1; then
    tmp=$(mktemp -d)
    python3 scripts/make-busybox-image.py "$tmp/busybox.tar"
    swiftlet-image import --quiet "$tmp/busybox.tar" --tag "$demo_image"
    rm -rf "$tmp"
    echo "imported $demo_image (busybox-static) into the image store"
  fi
  write_default "$demo_manifest" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: hello
  namespace: default
  labels: {app: hello, swiftlet-demo: "true"}
spec:
  containers:
  - name: web
    image: $demo_image
    imagePullPolicy: IfNotPresent
    # sh stays PID 1 and exits on SIGTERM (a bare httpd as PID 1 would ignore it until SIGKILL).
    command: [sh, -c, 'mkdir -p /www && echo "hello from \$(hostname)" > /www/index.html; trap "exit 0" TERM; httpd -f -p 8080 -h /www & wait']
    ports: [{containerPort: 8080, name: http}]
    readinessProbe: {httpGet: {path: /, port: http}, periodSeconds: 2}
    livenessProbe: {tcpSocket: {port: 8080}, periodSeconds: 10}
    resources:
      requests: {cpu: 10m, memory: 16Mi}
      limits: {cpu: 100m, memory: 32Mi}
EOF
fi

# --- start the node --------------------------------------------------------------------------------
if [[ -n $netns ]] && ! ip netns list | grep -qw "$netns"; then
  ip netns add "$netns"
  nsenter --net="/run/netns/$netns" ip link set lo up
  echo "created network namespace $netns"
fi
start_daemon() {  # name pidfile log command...
  local name=$1 pidfile=$2 log=$3; shift 3
  if [[ -n $netns ]]; then set -- nsenter --net="/run/netns/$netns" "$@"; fi
  setsid "$@" </dev/null >>"$log" 2>&1 &
  echo $! >"$pidfile"
  echo "started $name (pid $!, log $log)"
}
start_daemon swiftlet-cri "$run/swiftlet-cri.pid" "$logs/swiftlet-cri.log" swiftlet-cri --config "$etc/cri.json"
for _ in $(seq 300); do
  [[ -S $run/cri.sock ]] && break
  alive "$run/swiftlet-cri.pid" || { echo "swiftlet-cri exited:"; tail -20 "$logs/swiftlet-cri.log"; exit 1; }
  sleep 0.1
done
start_daemon kubeletd "$run/kubeletd.pid" "$logs/kubeletd.log" kubeletd --config "$etc/kubelet.yaml" --root-dir /var/lib/kubelet
for _ in $(seq 100); do
  pod_lines >/dev/null 2>&1 && break
  alive "$run/kubeletd.pid" || { echo "kubeletd exited:"; tail -20 "$logs/kubeletd.log"; exit 1; }
  sleep 0.1
done

if ((demo)); then
  say "waiting for the demo pod to be Running and Ready"
  line=""
  for _ in $(seq 120); do
    line=$(pod_lines 2>/dev/null | grep '^default/hello-' || true)
    [[ $line == *" Running True "* ]] && break
    alive "$run/kubeletd.pid" || { echo "kubeletd exited:"; tail -20 "$logs/kubeletd.log"; exit 1; }
    sleep 0.5
  done
  [[ $line == *" Running True "* ]] || { echo "the demo pod is not Ready after 60 s: $line"; tail -20 "$logs/kubeletd.log"; exit 1; }
  ip=${line##* }
  say "the demo pod answers on its pod IP $ip"
  in_ns python3 -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://$ip:8080/', timeout=5).read().decode())"
fi
say "swiftlet-node pods"
in_ns swiftlet-node pods --server "$api"
say "swiftlet-node containers"
in_ns swiftlet-node containers --server "$api"

cat <<EOF

The node is up: static pods from $manifests, configuration in $etc, logs in $logs.
Add a pod: put a Pod manifest (YAML or JSON) in $manifests. Inspect: ${netns:+ip netns exec $netns }swiftlet-node pods
EOF
if ((detach)); then
  echo "Stop it with: bash scripts/main.sh stop"
  exit 0
fi
echo "Ctrl-C stops kubeletd and swiftlet-cri (pods keep running; \`bash scripts/main.sh stop\` removes the demo pod first)."
trap 'echo; stop_daemon "$run/kubeletd.pid" kubeletd; stop_daemon "$run/swiftlet-cri.pid" swiftlet-cri; exit 0' INT TERM
while alive "$run/kubeletd.pid" && alive "$run/swiftlet-cri.pid"; do sleep 1; done
echo "a daemon exited; last log lines:"
tail -5 "$logs/kubeletd.log" "$logs/swiftlet-cri.log"
exit 1

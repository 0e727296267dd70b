#!/usr/bin/env bash
# Boot one virtme-ng VM (the host's own root, read-only; a real cgroup v2
# hierarchy with controllers) and run tests/vm/test_cgroup_vm.py inside it
# once per runtime given, then tests/vm/test_kubelet_vm.py once (kubeletd's
# QoS cgroups and OOM reporting over swiftlet-cri, in the same boot).
#
#   tests/vm/run-vm-tests.sh                        # our runtime (.build/debug/swiftlet-runc)
#   tests/vm/run-vm-tests.sh /usr/sbin/runc /usr/bin/crun
#   tests/vm/run-vm-tests.sh ours runc crun -- -k memory   # extra pytest args (runtime suite) after --
#
# Runtime names: "ours" = $SWIFTLET_RUNTIME or .build/debug/swiftlet-runc;
# a bare name is looked up in PATH. Needs: pip install virtme-ng;
# apt: qemu-system-x86 linux-image-amd64 busybox-static. No KVM needed.
# Env: VM_KERNEL (default newest /boot/vmlinuz-*), VM_TIMEOUT (s, default 1800),
#      VM_MEMORY (default 2G), VM_CPUS (default 2), VM_KEEP=1 keeps the result dir,
#      SWIFTLET_BIN_DIR (kubeletd, swiftlet-cri, ...; default: the directory of
#      "ours"), VM_KUBELET=0 skips the kubelet suite.
# Exit status: non-zero if any runtime's tests failed or the VM did not run.
set -euo pipefail
# Everything runs from main(), so bash has parsed the whole file before the
# long VM run starts (editing a running script cannot break it).
main() {

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

runtimes=()
pytest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; pytest_args=("$@"); break ;;
    *) runtimes+=("$1"); shift ;;
  esac
done
[ ${#runtimes[@]} -gt 0 ] || runtimes=(ours)

resolve() {
  local r=$1
  if [ "$r" = ours ]; then
    r=${SWIFTLET_RUNTIME:-$REPO/.build/debug/swiftlet-runc}
  elif [[ "$r" != */* ]]; then
    r=$(command -v "$r" || echo "$r")
  fi
  [ -x "$r" ] || { echo "run-vm-tests: runtime not found or not executable: $r" >&2; exit 2; }
  readlink -f "$r"
}
resolved=()
for r in "${runtimes[@]}"; do resolved+=("$(resolve "$r")"); done
# The kubelet suite needs the node's binaries; it runs once, after the runtimes.
BIN_DIR=${SWIFTLET_BIN_DIR:-$(dirname "$(resolve ours 2>/dev/null || echo "$REPO/.build/debug/swiftlet-runc")")}
suites=()
for r in "${resolved[@]}"; do suites+=("cgroup $r"); done
if [ "${VM_KUBELET:-1}" != 0 ]; then
  if [ -x "$BIN_DIR/kubeletd" ] && [ -x "$BIN_DIR/swiftlet-cri" ]; then
    suites+=("kubelet $BIN_DIR")
  else
    echo "run-vm-tests: no kubeletd/swiftlet-cri in $BIN_DIR: kubelet VM suite not run" >&2
  fi
fi

command -v vng >/dev/null || { echo "run-vm-tests: vng not found (pip install virtme-ng)" >&2; exit 2; }
KERNEL=${VM_KERNEL:-$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)}
[ -r "$KERNEL" ] || { echo "run-vm-tests: no kernel image (apt-get install linux-image-amd64)" >&2; exit 2; }
PY=$(python3 -c 'import sys; print(sys.executable)')
"$PY" -c 'import pytest' 2>/dev/null || { echo "run-vm-tests: $PY has no pytest" >&2; exit 2; }

OUT=$(mktemp -d /tmp/swiftlet-vm.XXXXXX)
cleanup() { [ "${VM_KEEP:-0}" = 1 ] && echo "results kept in $OUT" || rm -rf "$OUT"; }
trap cleanup EXIT

# The script run as the VM's init command.
{
  echo '#!/bin/bash'
  echo 'set -u'
  printf 'OUT=%q; REPO=%q; PY=%q\n' "$OUT" "$REPO" "$PY"
  printf 'SUITES=(%s)\n' "$(printf '%q ' "${suites[@]}")"
  if [ ${#pytest_args[@]} -gt 0 ]; then
    printf 'PYTEST_ARGS=(%s)\n' "$(printf '%q ' "${pytest_args[@]}")"
  else
    echo 'PYTEST_ARGS=()'
  fi
  cat <<'INNER'
exec >"$OUT/vm.log" 2>&1
date +%s.%N >"$OUT/t_booted"
# virtme-ng mounts cgroup2 at /sys/fs/cgroup; mount it if a kernel/init did not.
if ! grep -q '^cgroup2 /sys/fs/cgroup ' /proc/mounts; then
  mount -t cgroup2 none /sys/fs/cgroup || echo "cannot mount cgroup2"
fi
echo "controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
modprobe loop 2>/dev/null || true  # io.max needs a real block device
mkdir -p /run/swt-vm
cd "$REPO"
i=0
for suite in "${SUITES[@]}"; do
  i=$((i+1))
  log="$OUT/pytest-$i.log"
  kind=${suite%% *}; arg=${suite#* }
  if [ "$kind" = cgroup ]; then
    "$PY" -m pytest tests/vm/test_cgroup_vm.py -p no:cacheprovider -q -rfEs \
        --basetemp="/run/swt-vm/$i" --runtime "$arg" ${PYTEST_ARGS[@]+"${PYTEST_ARGS[@]}"} >"$log" 2>&1
  else
    # Temp dirs on tmpfs: the image store's overlayfs cannot use the VM's overlay /tmp as upper.
    mkdir -p "/run/swt-vm/$i/tmp"
    TMPDIR="/run/swt-vm/$i/tmp" SWIFTLET_BIN_DIR="$arg" "$PY" -m pytest tests/vm/test_kubelet_vm.py -p no:cacheprovider \
        -q -rfEs --basetemp="/run/swt-vm/$i/base" >"$log" 2>&1
  fi
  echo $? >"$OUT/rc-$i"
done
date +%s.%N >"$OUT/t_done"
INNER
} >"$OUT/inner.sh"
chmod +x "$OUT/inner.sh"

t0=$(date +%s.%N)
echo "vm: booting $(basename "$KERNEL") under TCG (~20 s), then ${#suites[@]} suite(s); log: $OUT/pytest-N.log"
set +e
CI=${CI:-true} timeout "${VM_TIMEOUT:-1800}" vng --run "$KERNEL" --disable-kvm \
  --memory "${VM_MEMORY:-2G}" --cpus "${VM_CPUS:-2}" --rwdir "$OUT" \
  --exec "$OUT/inner.sh" </dev/null >"$OUT/console.log" 2>&1
vng_rc=$?
set -e
t1=$(date +%s.%N)

status=0
if [ ! -f "$OUT/t_done" ]; then
  echo "run-vm-tests: the VM did not finish (vng exit $vng_rc); console tail:" >&2
  tail -n 30 "$OUT/console.log" >&2 || true
  [ -f "$OUT/vm.log" ] && tail -n 30 "$OUT/vm.log" >&2
  status=1
fi
i=0
for suite in "${suites[@]}"; do
  i=$((i+1))
  echo "=== ${suite/cgroup /runtime cgroups: }"
  if [ -f "$OUT/rc-$i" ]; then
    rc=$(cat "$OUT/rc-$i")
    # failures in full, then the summary line
    grep -E '^(FAILED|ERROR|SKIPPED)' "$OUT/pytest-$i.log" || true
    [ "$rc" = 0 ] || sed -n '/= FAILURES =/,/short test summary/p' "$OUT/pytest-$i.log" | head -n 200
    tail -n 1 "$OUT/pytest-$i.log"
    [ "$rc" = 0 ] || status=1
  else
    echo "not run"
    status=1
  fi
done
boot=$(awk -v a="$t0" -v b="$(cat "$OUT/t_booted" 2>/dev/null || echo "$t0")" 'BEGIN{printf "%.1f", b-a}')
echo "vm: boot ${boot}s, total $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')s (kernel $(basename "$KERNEL"), TCG)"
exit $status
}
main "$@"

#!/usr/bin/env bash
# The lifecycle benchmark (bench/runtime-lifecycle.sh) inside a virtme-ng VM
# with a real cgroup v2 hierarchy, where crun runs too: ours vs runc vs crun.
# TCG (no KVM) makes absolute times several times slower than the host;
# compare the ratios.
#
#   bench/vm-crun.sh [OURS] [-n ROUNDS]
#
# Env: VM_KERNEL, VM_MEMORY (2G), VM_CPUS (2), VM_TIMEOUT (900 s).
set -euo pipefail
# Everything runs from main(), so bash has parsed the whole file before the
# long VM run starts (editing a running script cannot break it).
main() {

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=${ROUNDS:-30}
OURS=""
while [ $# -gt 0 ]; do
  case "$1" in
    -n|--rounds) ROUNDS=$2; shift 2 ;;
    *) OURS=$1; shift ;;
  esac
done
. "$REPO/bench/lib.sh"
[ -n "$OURS" ] || OURS=$(default_runtime "$REPO")
[ -e "$OURS" ] && OURS=$(readlink -f "$OURS")
command -v vng >/dev/null || { echo "vm-crun: vng not found (pip install virtme-ng)" >&2; exit 2; }
KERNEL=${VM_KERNEL:-$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)}

OUT=$(mktemp -d /tmp/swiftlet-vmbench.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
cat >"$OUT/inner.sh" <<EOF
#!/bin/bash
exec >"$OUT/bench.log" 2>&1
grep -q '^cgroup2 /sys/fs/cgroup ' /proc/mounts || mount -t cgroup2 none /sys/fs/cgroup
cd "$REPO"
ROUNDS=$ROUNDS PEERS="runc crun" bash bench/runtime-lifecycle.sh "$OURS"
echo \$? >"$OUT/rc"
EOF
chmod +x "$OUT/inner.sh"

set +e
CI=${CI:-true} timeout "${VM_TIMEOUT:-900}" vng --run "$KERNEL" --disable-kvm \
  --memory "${VM_MEMORY:-2G}" --cpus "${VM_CPUS:-2}" --rwdir "$OUT" \
  --exec "$OUT/inner.sh" </dev/null >"$OUT/console.log" 2>&1
set -e
if [ ! -f "$OUT/rc" ]; then
  echo "vm-crun: the VM did not finish; console tail:" >&2
  tail -n 30 "$OUT/console.log" >&2
  exit 1
fi
echo "(inside a TCG VM, kernel $(basename "$KERNEL"), cgroup v2)"
cat "$OUT/bench.log"
exit "$(cat "$OUT/rc")"
}
main "$@"

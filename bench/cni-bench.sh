#!/usr/bin/env bash
# ADD+DEL of one pod with swiftlet-cni vs the reference bridge + host-local (Debian's
# containernetworking-plugins in /usr/lib/cni), on equivalent configs, interleaved in one run;
# then 50 ADDs in a row (and their DELs). Prints medians and the ratio ours/reference.
#
# Needs root. Everything happens in throwaway network namespaces named swcni-bench-*; the
# machine's own interfaces, routes and nftables are not touched.
#
#   SWIFTLET_BIN_DIR   where swiftlet-cni is (default .build/debug; a sibling release/ build is
#                      preferred when it exists)
#   ROUNDS             ADD+DEL rounds per plugin (default 40)
#   BATCH              pods in the back-to-back run (default 50)
#   REFERENCE_DIR      reference plugins (default /usr/lib/cni)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=${SWIFTLET_BIN_DIR:-.build/debug}
[[ $bin_dir = /* ]] || bin_dir="$repo/$bin_dir"
release_dir="${bin_dir%/debug}/release"
if [[ $bin_dir == */debug && -x $release_dir/swiftlet-cni ]]; then bin_dir=$release_dir; fi
ours_bin="$bin_dir/swiftlet-cni"
ref_dir=${REFERENCE_DIR:-/usr/lib/cni}
rounds=${ROUNDS:-40}
batch=${BATCH:-50}

[[ $(id -u) -eq 0 ]] || { echo "cni-bench: needs root" >&2; exit 1; }
[[ -x $ours_bin ]] || { echo "cni-bench: $ours_bin not built" >&2; exit 1; }
[[ -x $ref_dir/bridge && -x $ref_dir/host-local ]] || { echo "cni-bench: reference plugins missing in $ref_dir" >&2; exit 1; }

work=$(mktemp -d /tmp/swcni-bench.XXXXXX)
tag=$$
host="swcni-bench-host-$tag"
namespaces=("$host")
cleanup() {
    for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/ours"
ln -s "$ours_bin" "$work/ours/bridge"
ln -s "$ours_bin" "$work/ours/host-local"
ip netns add "$host"
ip -n "$host" link set lo up

config() { # name bridge subnet
    cat <<EOF
{"cniVersion":"1.0.0","name":"$1","type":"bridge","bridge":"$2","isGateway":true,"isDefaultGateway":true,
 "ipMasq":false,"hairpinMode":false,"ipam":{"type":"host-local","subnet":"$3","dataDir":"$work/ipam"}}
EOF
}
config ours br-ours 10.250.0.0/16 >"$work/ours.json"
config reference br-ref 10.251.0.0/16 >"$work/reference.json"

pods=$(( rounds > batch ? rounds : batch ))
for i in $(seq 1 "$pods"); do
    ip netns add "swcni-bench-pod-$tag-$i"
    namespaces+=("swcni-bench-pod-$tag-$i")
done

# The timing loop runs inside the host namespace, so `ip netns exec` is paid once, not per call.
cat >"$work/run.sh" <<'EOF'
set -euo pipefail
work=$1 tag=$2 rounds=$3 batch=$4 ours_bin=$5 ref_dir=$6
call() { # plugin-dir config command pod id
    CNI_COMMAND=$3 CNI_CONTAINERID=$5 CNI_NETNS=/run/netns/swcni-bench-pod-$tag-$4 CNI_IFNAME=eth0 \
        CNI_PATH=$1 "$1/bridge" <"$2" >"$work/out" || { cat "$work/out" >&2; exit 1; }
}
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }
# Warm up both (page cache, bridge creation).
call "$work/ours" "$work/ours.json" ADD 1 warm; call "$work/ours" "$work/ours.json" DEL 1 warm
call "$ref_dir" "$work/reference.json" ADD 1 warm; call "$ref_dir" "$work/reference.json" DEL 1 warm
for i in $(seq 1 "$rounds"); do
    for side in ours reference; do
        dir=$work/ours; [[ $side = reference ]] && dir=$ref_dir
        t0=$(now_us); call "$dir" "$work/$side.json" ADD "$i" "r$i"; t1=$(now_us)
        call "$dir" "$work/$side.json" DEL "$i" "r$i"; t2=$(now_us)
        echo "$side add $((t1 - t0))"; echo "$side del $((t2 - t1))"; echo "$side adddel $((t2 - t0))"
    done
done
for side in ours reference; do
    dir=$work/ours; [[ $side = reference ]] && dir=$ref_dir
    t0=$(now_us)
    for i in $(seq 1 "$batch"); do call "$dir" "$work/$side.json" ADD "$i" "b$i"; done
    t1=$(now_us)
    for i in $(seq 1 "$batch"); do call "$dir" "$work/$side.json" DEL "$i" "b$i"; done
    t2=$(now_us)
    echo "$side batchadd $((t1 - t0))"; echo "$side batchdel $((t2 - t1))"
done
EOF
ip netns exec "$host" bash "$work/run.sh" "$work" "$tag" "$rounds" "$batch" "$ours_bin" "$ref_dir" >"$work/samples"

python3 - "$work/samples" "$rounds" "$batch" "$ours_bin" <<'EOF'
import statistics, sys
samples, rounds, batch, binary = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
data = {}
for line in open(samples):
    side, kind, micros = line.split()
    data.setdefault((side, kind), []).append(int(micros) / 1000)
def med(side, kind): return statistics.median(data[(side, kind)])
print(f"swiftlet-cni: {binary}")
print(f"{rounds} interleaved rounds, medians in ms (ratio = ours / reference; goal <= 0.70)")
print(f"{'':14}{'ours':>10}{'reference':>12}{'ratio':>8}")
for kind, label in (("add", "ADD"), ("del", "DEL"), ("adddel", "ADD+DEL")):
    o, r = med("ours", kind), med("reference", kind)
    print(f"{label:14}{o:10.2f}{r:12.2f}{o / r:8.2f}")
for kind, label in (("batchadd", f"{batch} ADDs"), ("batchdel", f"{batch} DELs")):
    o, r = med("ours", kind), med("reference", kind)
    print(f"{label:14}{o:10.1f}{r:12.1f}{o / r:8.2f}")
EOF

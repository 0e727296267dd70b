#!/usr/bin/env bash
# The test job: set up, build, then unit tests, root integration tests and VM tests.
# Prints one closing line "N passed, N failed, N skipped" over every suite.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
results=$(mktemp -d /tmp/swiftlet-results.XXXXXX)
trap 'rm -rf "$results"' EXIT
status=0

echo "== build"
swift build --build-tests || exit 1
bin=$(swift build --show-bin-path)
export SWIFTLET_BIN_DIR="$bin" SWIFTLET_RUNTIME="$bin/swiftlet-runc"

echo "== unit tests (swift test)"
swift test --skip-build --parallel --xunit-output "$results/swift.xml" || status=1

echo "== root integration tests (pytest)"
# Every directory under tests/ with test_*.py files, except the VM suite (run below).
for suite in tests/*/; do
  suite=${suite%/}
  name=$(basename "$suite")
  [ "$name" = vm ] && continue
  compgen -G "$suite/test_*.py" >/dev/null || continue
  python3 -m pytest -q -p no:cacheprovider --junitxml="$results/pytest-$name.xml" "$suite" || status=1
done

echo "== VM tests (cgroup v2 enforcement)"
vm_counts=()
if [ -x tests/vm/run-vm-tests.sh ]; then
  tests/vm/run-vm-tests.sh ours 2>&1 | tee "$results/vm.log"
  [ "${PIPESTATUS[0]}" = 0 ] || status=1
  vm_counts=(--pytest-log "$results/vm.log")
fi

python3 scripts/summarize-junit.py "${vm_counts[@]}" "$results"/*.xml || status=1
exit $status

# Shared by the bench scripts (sourced).

# default_runtime: the swiftlet-runc to measure when none is named: $SWIFTLET_RUNTIME, else the
# static release build scripts/main.sh makes (.build-release), else .build/release, else the
# debug build.
default_runtime() {
  local repo=$1
  if [ -n "${SWIFTLET_RUNTIME:-}" ]; then echo "$SWIFTLET_RUNTIME"; return; fi
  local candidate
  for candidate in "$repo/.build-release/release/swiftlet-runc" "$repo/.build/release/swiftlet-runc"; do
    if [ -x "$candidate" ]; then echo "$candidate"; return; fi
  done
  echo "$repo/.build/debug/swiftlet-runc"
}

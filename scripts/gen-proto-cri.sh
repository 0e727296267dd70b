#!/bin/sh
# Regenerates Sources/Runtime/CRIProto from proto/cri/api.proto (CRI v1, package runtime.v1):
# messages, the RuntimeService/ImageService server protocols and clients. Needs protoc and the
# two plugins built from the project's pinned packages (PLUGINS, default
# /work/protoc-plugins/.build/release). The output is committed.
set -eu
cd "$(dirname "$0")/.."
PLUGINS=${PLUGINS:-/work/protoc-plugins/.build/release}
OUT=Sources/Runtime/CRIProto
rm -f "$OUT"/*.pb.swift "$OUT"/*.grpc.swift "$OUT"/Placeholder.swift
protoc -I proto/cri \
  --plugin=protoc-gen-swift="$PLUGINS/protoc-gen-swift" \
  --plugin=protoc-gen-grpc-swift-2="$PLUGINS/protoc-gen-grpc-swift-2" \
  --swift_opt=Visibility=Public \
  --swift_out="$OUT" \
  --grpc-swift-2_opt=Visibility=Public,Client=true,Server=true \
  --grpc-swift-2_out="$OUT" \
  api.proto
echo "generated: $(ls "$OUT")"

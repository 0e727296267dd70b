#!/bin/sh
# Regenerates Sources/SystemCore/GRPCHealthProto from proto/grpc-health/health.proto (the gRPC
# health checking protocol, package grpc.health.v1): messages, client and server. The kubelet's
# grpc probes use the client. Needs protoc and the two plugins built from the project's pinned
# packages (PLUGINS, default /work/protoc-plugins/.build/release). The output is committed.
set -eu
cd "$(dirname "$0")/.."
PLUGINS=${PLUGINS:-/work/protoc-plugins/.build/release}
OUT=Sources/SystemCore/GRPCHealthProto
rm -f "$OUT"/*.pb.swift "$OUT"/*.grpc.swift "$OUT"/Placeholder.swift
protoc -I proto/grpc-health \
  --plugin=protoc-gen-swift="$PLUGINS/protoc-gen-swift" \
  --plugin=protoc-gen-grpc-swift-2="$PLUGINS/protoc-gen-grpc-swift-2" \
  --swift_opt=Visibility=Public \
  --swift_out="$OUT" \
  --grpc-swift-2_opt=Visibility=Public,Client=true,Server=true \
  --grpc-swift-2_out="$OUT" \
  health.proto
echo "generated: $(ls "$OUT")"

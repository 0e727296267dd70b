#!/bin/sh
# Regenerates Sources/ControlPlaneLite/EtcdProto from proto/etcd (the etcd v3 API subset that
# APIStorage uses). Needs protoc and the two plugins built from the project's pinned packages
# (PLUGINS, default /work/protoc-plugins/.build/release). The output is committed.
set -eu
cd "$(dirname "$0")/.."
PLUGINS=${PLUGINS:-/work/protoc-plugins/.build/release}
OUT=Sources/ControlPlaneLite/EtcdProto
rm -f "$OUT"/*.pb.swift "$OUT"/*.grpc.swift
protoc -I proto/etcd \
  --plugin=protoc-gen-swift="$PLUGINS/protoc-gen-swift" \
  --plugin=protoc-gen-grpc-swift-2="$PLUGINS/protoc-gen-grpc-swift-2" \
  --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores \
  --swift_out="$OUT" \
  --grpc-swift-2_opt=Visibility=Public,Client=true,Server=false,FileNaming=PathToUnderscores \
  --grpc-swift-2_out="$OUT" \
  mvccpb/kv.proto etcdserverpb/rpc.proto
# kv.proto has no services: drop its empty gRPC file.
rm -f "$OUT"/mvccpb_kv.grpc.swift
echo "generated: $(ls "$OUT")"

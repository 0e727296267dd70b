// Replaced by the code generated from proto/grpc-health/health.proto.
enum GRPCHealthProtoPlaceholder {}

// Placeholder until the EtcdProto target gets its first real file; delete when one lands.

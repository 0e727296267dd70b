// Placeholder until the CRIProto target gets its first real file; delete when one lands.

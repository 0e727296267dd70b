// Placeholder until the APIStorage target gets its first real file; delete when one lands.

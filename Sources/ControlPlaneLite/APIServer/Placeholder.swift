// Placeholder until the APIServer target gets its first real file; delete when one lands.

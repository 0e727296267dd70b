// Placeholder until the CRI target gets its first real file; delete when one lands.

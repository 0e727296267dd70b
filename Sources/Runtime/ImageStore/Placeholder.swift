// Placeholder until the ImageStore target gets its first real file; delete when one lands.

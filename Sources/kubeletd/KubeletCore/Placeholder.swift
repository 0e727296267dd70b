// Placeholder until the KubeletCore target gets its first real file; delete when one lands.

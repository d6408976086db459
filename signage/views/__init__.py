"""HTTP views. They read the store only; they never call an upstream or the sync engine."""

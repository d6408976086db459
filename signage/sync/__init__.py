"""The sync side: the engine (full loads, deltas, deletions, the window), applying an upstream's
answer to the copy, the scheduler that runs it, and `signage check`'s probe. No Flask."""

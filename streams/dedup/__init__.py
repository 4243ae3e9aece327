"""Stage 2, dedup: exact and near-duplicate detection over the validated articles."""

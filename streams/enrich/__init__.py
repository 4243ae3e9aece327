"""Stage 3, enrich: language identification, named entities (per-language NER backends, the process pool)."""

"""Stage 1, ingest: the input contract (validate), canonical URLs and ids, file import, feeds."""

"""Stage 4, index: the indexed document, the Elasticsearch bulk sink, templates/aliases, search."""

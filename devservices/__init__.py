"""Data only: the local Elasticsearch launcher (Maven project), shipped as streams.services.jvm."""

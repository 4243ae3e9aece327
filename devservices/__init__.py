"""Data only: the local Elasticsearch launcher (Maven project), shipped as streams.devservices.jvm."""

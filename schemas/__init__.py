"""Data only: the JSON schemas, index template and Kibana objects, shipped as streams.schemas."""

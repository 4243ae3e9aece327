"""newsstream: Kafka -> Faust -> Elasticsearch news ingestion."""

"""Local Kafka and Elasticsearch, fetched from Maven Central and run as background JVMs."""

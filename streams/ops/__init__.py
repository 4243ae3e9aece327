"""Operations: status, the demo, Kibana import, generated documentation tables."""

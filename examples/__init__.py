"""Data only: the sample articles, shipped as streams.examples for ``newsstream demo``."""

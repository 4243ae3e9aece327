"""Thin Faust agents, one module per stage; logic lives in the pure modules."""

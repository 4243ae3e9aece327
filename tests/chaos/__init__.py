"""The fault matrix (``make chaos``): the pipeline under crashes, outages and hostile input."""

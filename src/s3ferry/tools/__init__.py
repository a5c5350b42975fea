"""Tools around the engine: the embedded server, the demo, the benchmark sweep."""

"""Local files: reads and writes at offsets, part buffers, the tree walk, the hash cache."""

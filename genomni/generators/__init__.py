"""Scene sources that turn scenes or footage into Samples and shards."""

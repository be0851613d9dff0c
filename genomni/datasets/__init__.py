"""Shards -> what people and trainers consume: inspection, decoding, batching."""

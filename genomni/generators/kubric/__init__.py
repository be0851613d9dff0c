"""Kubric-style synthetic scenes: sampled specs -> pybullet physics -> Blender Cycles passes -> Samples."""

"""Offline generators of the default datasets (no download, deterministic from a seed)."""

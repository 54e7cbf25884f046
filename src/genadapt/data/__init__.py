"""Datasets: embedded generators, real-data loaders, and the one prepared format they share."""

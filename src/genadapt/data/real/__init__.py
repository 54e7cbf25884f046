"""Loaders of the real datasets, each reading its published layout."""

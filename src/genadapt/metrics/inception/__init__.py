"""The FID Inception network: its weights (recognised by checksum), the one feature pass and the metrics
from it, and the cached reference features of a real test split."""

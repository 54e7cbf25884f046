"""The prepared dataset format every stage reads, and the conversions between image formats."""

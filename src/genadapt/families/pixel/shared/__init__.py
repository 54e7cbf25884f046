"""The pixel family's params, which every one of its stage verbs imports."""

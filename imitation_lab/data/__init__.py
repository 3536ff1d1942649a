"""Datasets: built-in scripted experts, the Minari store, and flattened training tensors."""

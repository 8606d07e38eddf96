"""Attacks on the front door, one module per finding class, each beside the legitimate path."""

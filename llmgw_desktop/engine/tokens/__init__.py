"""Tokens: what an exchange used (`usage.Usage`) and what a text would cost (`estimate`)."""

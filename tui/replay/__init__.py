"""Deterministic replay of recordings against the mock, divergence reports and the regression runner."""

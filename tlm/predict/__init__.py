"""Learned performance model: per-layer features, fit, JSON model, network queries."""

"""Evaluation: metrics, rate-distortion curves, BD-rate."""

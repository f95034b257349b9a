"""Training: datasets, the rate-distortion loop, checkpoints and export of shipped weights."""

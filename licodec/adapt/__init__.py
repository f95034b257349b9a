"""Per-image adaptation at the encoder: what it needs travels in the file, the decoder is unchanged."""

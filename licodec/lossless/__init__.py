"""Lossless coding: a multi-scale progressive (MSP) probability model over the pixels themselves.

The image is coded from its coarsest scale to the finest. Each scale is the next finer
one subsampled by two, so a scale's pixels at even rows and columns are already known;
the other three phases are coded in a few steps whose order a profile sets
(:mod:`licodec.lossless.order`), each step conditioned on everything decoded so far. The
probabilities come from integer networks, as the lossy path's do, so files decode
identically on any machine (:mod:`licodec.lossless.codec`); :mod:`licodec.lossless.model`
trains the networks.
"""

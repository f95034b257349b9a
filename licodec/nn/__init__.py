"""Layers: GDN, masked and sub-pixel convolutions, residual blocks (PyTorch), and exact integer networks (numpy).

Import the modules themselves: this package imports nothing, so that a decoder can use
:mod:`licodec.nn.integer_network` and :mod:`licodec.nn.numpy_synthesis` without PyTorch.
"""

import numpy as np
import pytest
import torch
from torch import nn

from licodec.models.transforms import entropy_parameters, hyper_synthesis
from licodec.nn.fixed_point import ACT_FRAC_BITS, compile_network, from_fixed, load_into_float, to_fixed
from licodec.nn.integer_network import FixedPointNetwork
from licodec.nn.layers import CheckerboardMaskedConv2d, deconv


def random_input(shape, seed=0, spread=8.0) -> np.ndarray:
    """Integer-valued float64 activations on the fixed grid."""
    torch.manual_seed(seed)
    return to_fixed(torch.randn(shape) * spread).numpy()


def networks():
    torch.manual_seed(0)
    return {
        "hyper_synthesis": hyper_synthesis(6, 10, hidden=9),
        "context": nn.Sequential(CheckerboardMaskedConv2d(5, 10, 5, padding=2)),
        "entropy_parameters": entropy_parameters(10, 12, 10),
    }


@pytest.mark.parametrize("name", ["hyper_synthesis", "context", "entropy_parameters"])
def test_fixed_point_approximates_the_float_network(name):
    network = networks()[name].double()
    fixed = compile_network(network)
    channels = next(m for m in network if hasattr(m, "in_channels")).in_channels
    x = random_input((1, channels, 6, 6), seed=3)
    expected = network(torch.from_numpy(x) * 2.0**-ACT_FRAC_BITS)
    got = from_fixed(torch.from_numpy(fixed(x))).double()
    assert torch.allclose(got, expected, atol=0.02, rtol=0.01)


def test_transposed_convolution_matches_pytorch():
    torch.manual_seed(1)
    layer = deconv(4, 3).double()
    fixed = compile_network(nn.Sequential(layer))
    x = random_input((1, 4, 5, 3))
    expected = layer(torch.from_numpy(x) * 2.0**-ACT_FRAC_BITS)
    assert expected.shape == fixed(x).shape
    assert torch.allclose(from_fixed(torch.from_numpy(fixed(x))).double(), expected, atol=0.01)


def test_unsupported_layers_are_refused():
    with pytest.raises(ValueError):
        compile_network(nn.Sequential(nn.Conv2d(2, 2, 1), nn.Sigmoid()))


@pytest.mark.parametrize("name", ["hyper_synthesis", "context", "entropy_parameters"])
def test_stored_integers_rebuild_the_float_layers_that_compile_to_them(name):
    """A weights file keeps the probability path as integers only: the floats rebuilt from them compile back to the same integers."""
    fixed = compile_network(networks()[name])
    arrays = fixed.to_arrays("n")
    assert (name == "context") == ("n.0.taps" in arrays)  # the masked taps of a context are not stored
    stored = FixedPointNetwork.from_arrays(arrays, "n")
    rebuilt = networks()[name]
    for module in rebuilt.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(module.weight)  # forget the original floats
    load_into_float(stored, rebuilt)
    for ours, theirs in zip(compile_network(rebuilt).layers, fixed.layers):
        for field in ("weight", "bias", "shift"):
            np.testing.assert_array_equal(getattr(ours, field), getattr(theirs, field))
    with pytest.raises(ValueError, match="integer layers"):
        load_into_float(stored, nn.Sequential(*list(rebuilt)[:1]) if len(rebuilt) > 1 else nn.Sequential())

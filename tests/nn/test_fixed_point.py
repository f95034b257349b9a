import numpy as np
import pytest
import torch
from torch import nn

from licodec.models.transforms import entropy_parameters, hyper_synthesis
from licodec.nn import CheckerboardMaskedConv2d, checkerboard_anchor_mask, deconv
from licodec.nn.fixed_point import ACT_FRAC_BITS, FixedPointNetwork, compile_network, from_fixed, load_into_float, run_layer, run_layer_at, to_fixed
from tests.nn.reference_int64 import run_network_int64


def random_input(shape, seed=0, spread=8.0):
    torch.manual_seed(seed)
    return to_fixed(torch.randn(shape) * spread)


def networks():
    torch.manual_seed(0)
    return {
        "hyper_synthesis": hyper_synthesis(6, 10, hidden=9),
        "context": nn.Sequential(CheckerboardMaskedConv2d(5, 10, 5, padding=2)),
        "entropy_parameters": entropy_parameters(10, 12, 10),
    }


@pytest.mark.parametrize("name", ["hyper_synthesis", "context", "entropy_parameters"])
def test_float64_evaluation_equals_independent_int64_reference(name):
    network = networks()[name]
    fixed = compile_network(network)
    channels = next(m for m in network if hasattr(m, "in_channels")).in_channels
    x = random_input((2, channels, 7, 5))
    ours = fixed(x)
    reference = run_network_int64(fixed, x.numpy().astype(np.int64))
    np.testing.assert_array_equal(ours.numpy().astype(np.int64), reference)


@pytest.mark.parametrize("name", ["hyper_synthesis", "context", "entropy_parameters"])
def test_fixed_point_approximates_the_float_network(name):
    network = networks()[name].double()
    fixed = compile_network(network)
    channels = next(m for m in network if hasattr(m, "in_channels")).in_channels
    x = random_input((1, channels, 6, 6), seed=3)
    expected = network(x * 2.0**-ACT_FRAC_BITS)
    got = from_fixed(fixed(x)).double()
    assert torch.allclose(got, expected, atol=0.02, rtol=0.01)


@pytest.mark.parametrize("anchors", [True, False])
def test_evaluating_at_some_positions_equals_the_full_layer_there(anchors):
    layer = compile_network(networks()["context"]).layers[0]
    x = random_input((1, 5, 7, 6), seed=2, spread=30)
    positions = checkerboard_anchor_mask(7, 6).numpy() == anchors
    full = run_layer(layer, x).flatten(2)[:, :, np.flatnonzero(positions)]
    torch.testing.assert_close(run_layer_at(layer, x, positions), full, rtol=0, atol=0)


def test_transposed_convolution_matches_pytorch():
    torch.manual_seed(1)
    layer = deconv(4, 3).double()
    fixed = compile_network(nn.Sequential(layer))
    x = random_input((1, 4, 5, 3))
    expected = layer(x * 2.0**-ACT_FRAC_BITS)
    assert expected.shape == fixed(x).shape
    assert torch.allclose(from_fixed(fixed(x)).double(), expected, atol=0.01)


def test_results_do_not_depend_on_thread_count():
    fixed = compile_network(networks()["hyper_synthesis"])
    x = random_input((1, 6, 16, 16), seed=5, spread=50)
    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = fixed(x)
        torch.set_num_threads(2)
        two = fixed(x)
    finally:
        torch.set_num_threads(previous)
    assert torch.equal(one, two)


def test_unsupported_layers_are_refused():
    with pytest.raises(ValueError):
        compile_network(nn.Sequential(nn.Conv2d(2, 2, 1), nn.Sigmoid()))


def test_inputs_beyond_the_activation_range_are_clamped_not_inexact():
    from licodec.nn.fixed_point import ACT_LIMIT

    fixed = compile_network(networks()["entropy_parameters"])
    x = torch.full((1, 10, 2, 2), 2.0**60, dtype=torch.float64)
    clamped = torch.full((1, 10, 2, 2), float(ACT_LIMIT), dtype=torch.float64)
    assert torch.equal(fixed(x), fixed(clamped))
    np.testing.assert_array_equal(fixed(x).numpy().astype(np.int64), run_network_int64(fixed, clamped.numpy().astype(np.int64)))


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

import pytest
import torch

from licodec.nn.octave import OctaveConv, split_channels


def test_a_strided_layer_halves_both_frequencies():
    layer = OctaveConv(32, 16)
    high, low = layer((torch.randn(2, 16, 32, 32), torch.randn(2, 16, 16, 16)))
    assert high.shape == (2, 8, 16, 16) and low.shape == (2, 8, 8, 8)


def test_a_transposed_layer_doubles_both_frequencies():
    layer = OctaveConv(32, 16, transposed=True)
    high, low = layer((torch.randn(1, 16, 8, 12), torch.randn(1, 16, 4, 6)))
    assert high.shape == (1, 8, 16, 24) and low.shape == (1, 8, 8, 12)


def test_the_image_enters_and_leaves_as_one_tensor():
    first = OctaveConv(3, 32, alpha_in=0.0)
    high, low = first(torch.randn(1, 3, 64, 64))
    assert high.shape == (1, 16, 32, 32) and low.shape == (1, 16, 16, 16)
    last = OctaveConv(32, 3, alpha_out=0.0, transposed=True, normalise=False)
    image, none = last((high, low))
    assert image.shape == (1, 3, 64, 64) and none is None


@pytest.mark.parametrize("transposed", [False, True])
def test_both_frequencies_reach_both_outputs(transposed):
    layer = OctaveConv(8, 8, transposed=transposed)
    high = torch.randn(1, 4, 16, 16, requires_grad=True)
    low = torch.randn(1, 4, 8, 8, requires_grad=True)
    out_high, out_low = layer((high, low))
    out_high.sum().backward(retain_graph=True)
    assert low.grad.abs().sum() > 0  # low -> high
    high.grad = None
    out_low.sum().backward()
    assert high.grad.abs().sum() > 0  # high -> low


def test_channel_split():
    assert split_channels(32, 0.5) == (16, 16) and split_channels(3, 0.0) == (3, 0) and split_channels(10, 0.25) == (8, 2)

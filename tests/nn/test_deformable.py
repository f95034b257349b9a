import pytest
import torch
import torch.nn.functional as F

from licodec.nn.deformable import DeformableConv2d


@pytest.mark.parametrize("stride", [1, 2])
def test_with_zero_offsets_it_is_a_convolution(stride):
    layer = DeformableConv2d(4, 6, 3, stride=stride, padding=1)
    x = torch.randn(2, 4, 11, 14)
    expected = F.conv2d(x, layer.weight, layer.bias, stride=stride, padding=1)
    assert torch.allclose(layer(x), expected, atol=1e-5)


def test_an_offset_of_one_pixel_samples_the_neighbour():
    layer = DeformableConv2d(2, 3, 3)
    with torch.no_grad():
        layer.offsets.bias[1::2] = 1.0  # every tap one pixel to the right
    x = torch.randn(1, 2, 9, 12)
    expected = F.conv2d(F.pad(x, (0, 2, 1, 1)), layer.weight, layer.bias)  # columns j .. j + 2 instead of j - 1 .. j + 1
    assert torch.allclose(layer(x), expected, atol=1e-5)


def test_offsets_learn():
    layer = DeformableConv2d(2, 2, 3)
    with torch.no_grad():
        layer.offsets.bias.fill_(0.3)  # between pixels, where bilinear sampling has a gradient
    layer(torch.randn(1, 2, 8, 8)).square().sum().backward()
    assert layer.offsets.weight.grad.abs().sum() > 0

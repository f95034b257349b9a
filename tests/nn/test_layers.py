import numpy as np
import pytest
import torch
from torch import nn

from licodec.nn.layers import LatentTransposedConv2d, SubpixelTransposedConv2d, deconv
from licodec.nn.numpy_layers import TransposedConv


def transposed_pair(in_channels: int, out_channels: int, kernel_size: int, stride: int) -> tuple[nn.ConvTranspose2d, SubpixelTransposedConv2d]:
    torch.manual_seed(kernel_size * 10 + stride)
    reference = deconv(in_channels, out_channels, kernel_size, stride)
    subpixel = SubpixelTransposedConv2d(in_channels, out_channels, kernel_size, stride)
    subpixel.load_state_dict(reference.state_dict())
    return reference, subpixel


@pytest.mark.parametrize("kernel_size, stride", [(5, 2), (3, 2), (5, 4), (7, 2)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_subpixel_form_computes_the_transposed_convolution(kernel_size, stride, channels_last):
    reference, subpixel = transposed_pair(6, 3, kernel_size, stride)
    x = torch.randn(2, 6, 5, 7)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        expected, actual = reference(x), subpixel(x)
    assert actual.shape == expected.shape == (2, 3, 5 * stride, 7 * stride)
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)


def test_gradients_flow_through_the_ordinary_transposed_convolution():
    reference, subpixel = transposed_pair(4, 3, 5, 2)
    x = torch.randn(1, 4, 3, 3)
    subpixel(x).square().sum().backward()
    reference(x).square().sum().backward()
    torch.testing.assert_close(subpixel.weight.grad, reference.weight.grad)


def test_subpixel_kernel_follows_changed_weights():
    reference, subpixel = transposed_pair(4, 3, 5, 2)
    x = torch.randn(1, 4, 3, 3)
    with torch.no_grad():
        subpixel(x)  # builds the cached kernel
        for layer in (reference, subpixel):
            layer.weight.mul_(-2)  # in place: the same tensor, a new version
        torch.testing.assert_close(subpixel(x), reference(x), rtol=1e-5, atol=1e-5)
        subpixel.to(torch.float64)  # a new tensor
        torch.testing.assert_close(subpixel(x.double()).float(), reference(x), rtol=1e-5, atol=1e-5)


def test_state_dict_is_that_of_a_transposed_convolution():
    reference, subpixel = transposed_pair(4, 3, 5, 2)
    assert {k: v.shape for k, v in subpixel.state_dict().items()} == {k: v.shape for k, v in reference.state_dict().items()}


def test_even_kernels_are_refused():
    with pytest.raises(ValueError, match="odd"):
        SubpixelTransposedConv2d(4, 3, 4, 2)


@pytest.mark.parametrize("dead", [[], [1, 4], [0, 1, 2, 3, 4, 5]])
def test_the_latent_layer_skips_zero_channels_and_computes_the_same(dead):
    torch.manual_seed(3)
    reference = deconv(6, 4)
    latent = LatentTransposedConv2d(6, 4)
    latent.load_state_dict(reference.state_dict())
    x = torch.randn(1, 6, 5, 7)
    x[:, dead] = 0
    with torch.no_grad():
        torch.testing.assert_close(latent(x), reference(x), rtol=1e-5, atol=1e-5)
        if 0 < len(dead) < 6:
            latent.weight[dead] = float("nan")  # never read: the output stays finite
            assert torch.isfinite(latent(x)).all()


def test_numpy_transposed_convolution_skips_zero_channels_and_computes_the_same():
    torch.manual_seed(4)
    reference = deconv(6, 40)  # more outputs than FEW_OUTPUTS: the stripe path
    layer = TransposedConv(reference.weight.detach().numpy(), reference.bias.detach().numpy())
    x = np.random.default_rng(0).normal(size=(5, 7, 6)).astype(np.float32)
    x[..., [0, 3]] = 0
    np.testing.assert_allclose(layer(x, skip_zero_channels=True), layer(x), rtol=1e-5, atol=1e-5)
    layer.matrix.reshape(9, 6, -1)[:, [0, 3]] = np.nan  # the skipped channels' weights are never read
    assert np.isfinite(layer(x, skip_zero_channels=True)).all() and not np.isfinite(layer(x)).all()

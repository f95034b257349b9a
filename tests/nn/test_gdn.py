import pytest
import torch

from licodec.nn.gdn import GDN


@pytest.mark.parametrize("inverse", [False, True])
def test_channels_last_gives_the_same_values_as_nchw(inverse):
    torch.manual_seed(0)
    gdn = GDN(8, inverse=inverse)
    with torch.no_grad():
        gdn.gamma.add_(0.05 * torch.rand(8, 8))
    x = torch.randn(2, 8, 5, 7)
    expected = gdn(x)
    got = gdn(x.contiguous(memory_format=torch.channels_last))
    assert got.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)


def test_gdn_divides_and_igdn_multiplies_by_the_same_norm():
    torch.manual_seed(1)
    x = torch.randn(1, 4, 3, 3)
    forward, inverse = GDN(4), GDN(4, inverse=True)
    inverse.load_state_dict(forward.state_dict())
    norm = torch.sqrt(1.0 + 0.1 * x * x)  # initial beta = 1, gamma = 0.1 * identity
    torch.testing.assert_close(forward(x), x / norm)
    torch.testing.assert_close(inverse(x), x * norm)


@pytest.mark.parametrize("inverse", [False, True])
def test_inference_in_pixel_blocks_equals_the_whole_tensor_computation(inverse, monkeypatch):
    # Blocks of 64 pixels over 2 x 9 x 11 = 198 pixels: three full blocks and a ragged last one, across images.
    monkeypatch.setattr(GDN, "BLOCK_PIXELS", 64)
    torch.manual_seed(2)
    gdn = GDN(8, inverse=inverse)
    with torch.no_grad():
        gdn.gamma.add_(0.05 * torch.rand(8, 8))
    x = torch.randn(2, 8, 9, 11).contiguous(memory_format=torch.channels_last)
    expected = gdn(x)  # gradients enabled: the whole-tensor path
    with torch.no_grad():
        got = gdn(x)
    assert got.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(got, expected.detach(), rtol=1e-6, atol=1e-6)

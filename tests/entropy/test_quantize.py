import torch

from licodec.entropy.quantize import annealed_rounding, gumbel_round, quantize_around, round_ste


def test_gumbel_rounding_stays_between_floor_and_ceil_and_hardens_as_it_cools():
    torch.manual_seed(0)
    x = torch.rand(10_000) * 10 - 5
    warm, cold = gumbel_round(x, 0.5), gumbel_round(x, 0.01)
    assert torch.all(warm >= torch.floor(x)) and torch.all(warm <= torch.ceil(x))
    assert (cold - torch.round(x)).abs().mean() < 0.02
    assert (warm - torch.round(x)).abs().mean() > 0.05


def test_gumbel_rounding_passes_gradients():
    x = torch.tensor([0.3, 1.7, -2.4], requires_grad=True)
    gumbel_round(x, 0.3).sum().backward()
    assert x.grad is not None and torch.all(torch.isfinite(x.grad))


def test_annealed_rounding_applies_only_inside_its_block():
    x = torch.tensor([0.4, 0.6])
    with annealed_rounding(0.5):
        noisy, hat = quantize_around(x, torch.zeros(2), training=True)
        assert torch.equal(noisy, hat)  # rate and reconstruction see the same soft value
    assert torch.equal(round_ste(x), torch.tensor([0.0, 1.0]))
    noisy, hat = quantize_around(x, torch.zeros(2), training=False)
    assert torch.equal(noisy, hat) and torch.equal(hat, torch.tensor([0.0, 1.0]))

import pytest
import torch

from licodec.entropy.gaussian import gaussian_likelihood
from licodec.entropy.mixture import FAMILIES, bin_probability, mixture_likelihood


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_puts_all_its_mass_on_the_integers(family):
    x = torch.arange(-400, 401, dtype=torch.float64)
    for mean, scale in ((0.0, 0.3), (0.37, 2.0), (-5.2, 20.0)):
        total = bin_probability(family, x, torch.tensor(mean, dtype=torch.float64), torch.tensor(scale, dtype=torch.float64)).sum()
        assert float(total) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("family", FAMILIES)
def test_far_tails_keep_their_precision(family):
    p = bin_probability(family, torch.tensor([10.0]), torch.tensor([0.0]), torch.tensor([1.0]))  # float32
    assert 0 < float(p) < 1e-4


def test_one_gaussian_component_is_the_gaussian_conditional():
    x = torch.randn(2, 3, 4, 5) * 3
    means, scales = torch.randn(2, 3, 4, 5), torch.rand(2, 3, 4, 5) * 4 + 0.2
    mixed = mixture_likelihood(x, torch.zeros(2, 3, 1, 4, 5), means[:, :, None], scales[:, :, None], ("gaussian",))
    assert torch.allclose(mixed, gaussian_likelihood(x, scales, means), rtol=1e-5)


def test_weights_are_a_softmax_over_the_components():
    x = torch.zeros(1, 1, 1, 1)
    means, scales = torch.zeros(1, 1, 2, 1, 1), torch.ones(1, 1, 2, 1, 1)
    logits = torch.tensor([0.0, 100.0]).view(1, 1, 2, 1, 1)  # all weight on the logistic
    mixed = mixture_likelihood(x, logits, means, scales, ("laplacian", "logistic"))
    assert torch.allclose(mixed, bin_probability("logistic", x, means[:, :, 1], scales[:, :, 1]))
    with pytest.raises(ValueError, match="2 components given, 3 families"):
        mixture_likelihood(x, logits, means, scales, FAMILIES)


def test_gradients_reach_every_parameter():
    x = torch.randn(1, 2, 3, 3)
    params = [torch.randn(1, 2, 3, 3, 3, requires_grad=True) for _ in range(2)] + [torch.rand(1, 2, 3, 3, 3).add(0.5).requires_grad_()]
    (-torch.log2(mixture_likelihood(x, *params, FAMILIES)).sum()).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in params)

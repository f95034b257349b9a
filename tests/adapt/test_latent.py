import pytest
import torch

import licodec
from licodec.adapt.latent import _frozen, optimize_latent, rd_cost
from tests.conftest import smooth_image
from tests.models.test_models import as_tensor


def test_optimised_latent_never_costs_more_than_the_analysis_transform(checkerboard_model):
    model = checkerboard_model
    x = as_tensor(smooth_image(64, 64))
    steps = []
    y = optimize_latent(model, x, 0.5, steps=15, learning_rate=0.05, on_step=lambda i, c: steps.append(c))
    assert len(steps) == 15
    with _frozen(model), torch.no_grad():
        start = float(rd_cost(model, x, model.encode_latent(x, 0.5), 0.5))
        final = float(rd_cost(model, x, y, 0.5))
    assert final <= start


def test_optimised_files_decode_with_the_standard_decoder(checkerboard_model):
    image = smooth_image(40, 72)
    data = licodec.compress(image, quality=50, model=checkerboard_model, optimize_steps=5)
    assert licodec.decompress(data, model=checkerboard_model).size == (72, 40)


def test_optimisation_leaves_the_model_untouched(checkerboard_model):
    before = {k: v.clone() for k, v in checkerboard_model.state_dict().items()}
    optimize_latent(checkerboard_model, as_tensor(smooth_image(64, 64)), 1.0, steps=3)
    after = checkerboard_model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert not checkerboard_model.training


def test_optimisation_is_reproducible_and_leaves_the_callers_random_state_alone(checkerboard_model):
    x = as_tensor(smooth_image(64, 64))
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    first = optimize_latent(checkerboard_model, x, 0.5, steps=4, learning_rate=0.05)
    assert torch.equal(torch.rand(3), expected_next)
    assert torch.equal(optimize_latent(checkerboard_model, x, 0.5, steps=4, learning_rate=0.05), first)


def test_a_task_loss_adds_lambda_times_its_weight_to_the_cost_and_steers_the_latent(checkerboard_model):
    from licodec.adapt.latent import TASK_WEIGHT

    model, x = checkerboard_model, as_tensor(smooth_image(64, 64))
    darkness = lambda x_hat: x_hat.mean()  # a stand-in machine that wants a darker image
    with _frozen(model), torch.no_grad():
        y = model.encode_latent(x, 0.5)
        plain, with_task = rd_cost(model, x, y, 0.5), rd_cost(model, x, y, 0.5, darkness)
        x_hat = model.forward_latent(y, 0.5)["x_hat"].clamp(0, 1)
    lam = float(model.lagrange_multiplier(0.5))
    assert float(with_task - plain) == pytest.approx(TASK_WEIGHT * lam * float(x_hat.mean()), rel=1e-4)
    steered = optimize_latent(model, x, 0.5, steps=8, learning_rate=0.05, task_loss=darkness)
    plain_y = optimize_latent(model, x, 0.5, steps=8, learning_rate=0.05)
    assert not torch.equal(steered, plain_y)


def test_a_task_needs_optimisation_steps_and_a_known_name(checkerboard_model):
    image = smooth_image(40, 72)
    with pytest.raises(licodec.LicodecError, match="--optimize"):
        licodec.compress(image, quality=50, model=checkerboard_model, task="ocr")
    with pytest.raises(licodec.LicodecError, match="unknown task"):
        licodec.compress(image, quality=50, model=checkerboard_model, optimize_steps=2, task="faces")
    with pytest.raises(licodec.LicodecError, match="latent optimisation"):
        licodec.compress(image, lossless=True, task="ocr")

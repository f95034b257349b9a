"""y's channel mask: which channels the encoder turns off, its syntax, and coding a masked latent."""

import dataclasses

import numpy as np
import pytest
import torch

from licodec.coding.channel_mask import active_channels, read_channel_mask, write_channel_mask
from licodec.coding.procedures import PROCEDURES
from licodec.entropy.coder import SymbolDecoder, SymbolEncoder
from licodec.models import ARCHITECTURES, build_coding_tables, create_model
from licodec.models.config import TINY
from tests.conftest import smooth_image
from tests.models.test_models import as_tensor

SPARSE = dataclasses.replace(TINY, channel_mask=True)


def sparse_model(architecture: str = "he2021-checkerboard", loud: bool = True):
    """A tiny model that masks channels; with gains e^4 its active channels have many nonzero symbols."""
    torch.manual_seed(0)
    model = create_model(architecture, SPARSE)
    build_coding_tables(model)
    if loud:
        with torch.no_grad():
            model.gains.log_gain.fill_(4.0)
    return model.eval()


def test_a_channel_is_active_when_some_element_does_not_round_to_zero():
    y = np.zeros((1, 4, 3, 3))
    y[0, 1, 2, 2] = 0.5
    y[0, 2] = 0.49
    y[0, 3, 0, 0] = -7.0
    np.testing.assert_array_equal(active_channels(y), [False, True, False, True])


@pytest.mark.parametrize("active", [[True] * 5, [True, False, True, True, False], [False] * 5])
def test_the_mask_reads_back_and_costs_one_bit_when_every_channel_is_active(active):
    encoder = SymbolEncoder()
    write_channel_mask(encoder, np.array(active))
    streams = encoder.finish()
    np.testing.assert_array_equal(read_channel_mask(SymbolDecoder(streams), 5), active)


def test_only_the_hyperprior_procedures_without_a_context_loop_or_mixture_can_mask():
    can = {name for name, procedure in PROCEDURES.items() if procedure.can_mask_channels}
    assert can == {"bmshj2018-hyperprior", "mbt2018-mean", "he2021-checkerboard", "fu2023-asymmetric"}


def latent_with_dead_channels(model, x, dead=(1, 4, 6)):
    with torch.no_grad():
        y = model.encode_latent(x, 1.0)
        y[:, list(dead)] *= 0.001  # below 0.5 everywhere: off
    return y


@pytest.mark.parametrize("architecture", ["bmshj2018-hyperprior", "mbt2018-mean", "he2021-checkerboard"])
def test_masked_channels_decode_to_zero_and_the_others_to_y_rounded_around_their_means(architecture):
    model = sparse_model(architecture)
    x = as_tensor(smooth_image(64, 64))
    y = latent_with_dead_channels(model, x)
    y_hat = model.decode_symbols(model.compress(x, 1.0, y=y), 64, 64)
    dead = torch.zeros(8, dtype=torch.bool)
    dead[[1, 4, 6]] = True
    assert torch.all(y_hat[:, dead] == 0)
    assert torch.count_nonzero(y_hat[:, ~dead]) > y_hat[:, ~dead].numel() // 2
    assert float((y_hat[:, ~dead] - y[:, ~dead]).abs().max()) <= 0.5 + 1e-3  # the means are on a 2**-10 grid


def test_a_mask_makes_the_file_smaller_than_coding_the_dead_channels():
    model = sparse_model()
    x = as_tensor(smooth_image(64, 64))
    y = latent_with_dead_channels(model, x)
    masked = sum(len(s) for s in model.compress(x, 1.0, y=y))
    model.config = TINY  # the same weights, coding every channel
    full = model.compress(x, 1.0, y=y)
    assert masked <= sum(len(s) for s in full)
    assert torch.count_nonzero(model.decode_symbols(full, 64, 64)[:, [1, 4, 6]]) > 0  # coded around nonzero means


def test_the_training_pass_zeroes_inactive_channels_costs_them_nothing_and_lets_gradients_through():
    model = sparse_model(loud=False).train()
    y = torch.randn(2, 8, 4, 4) * 3
    y.data[0, 2] = 0.1  # inactive in the first sample only
    y.requires_grad_(True)
    y_hat, likelihoods = model.mask_inactive(y, y * 1.0, torch.full_like(y, 0.25))
    assert torch.all(y_hat[0, 2] == 0) and torch.all(likelihoods[0, 2] == 1)
    assert torch.all(y_hat[1, 2] == y[1, 2]) and torch.all(likelihoods[1, 2] == 0.25)
    y_hat.sum().backward()
    assert torch.all(y.grad == 1)  # straight through: an inactive channel can come back


def test_a_model_trained_without_the_mask_codes_every_channel():
    model = sparse_model()
    model.config = TINY
    x = as_tensor(smooth_image(64, 64))
    y = latent_with_dead_channels(model, x)
    assert model.mask_inactive(y, y, torch.ones_like(y))[0] is y
    assert model.coding().masks_channels is False


def test_an_architecture_that_codes_every_channel_refuses_to_mask():
    model = create_model("mbt2018", SPARSE)
    build_coding_tables(model)
    with pytest.raises(ValueError, match="every channel"):
        model.coding()
    assert "mbt2018" in ARCHITECTURES

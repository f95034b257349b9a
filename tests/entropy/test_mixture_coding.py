import numpy as np
import pytest
import torch

from licodec.entropy.coder import SymbolDecoder, SymbolEncoder
from licodec.entropy.mixture import mixture_likelihood
from licodec.entropy.mixture_coding import FAMILIES, ONE, WEIGHT_ONE, MixtureLatentTables, weight_table
from licodec.entropy.tables import gaussian_scale_table


@pytest.fixture(scope="module")
def tables():
    return MixtureLatentTables.build(FAMILIES)


def random_mixture(count: int, seed: int = 0):
    """Integer (K, P) logits, means and scales on the fixed grid, and latents drawn near the means."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, (3, count)) * ONE
    means = rng.normal(0, 4, (3, count)) * ONE
    scales = np.exp(rng.uniform(np.log(0.05), np.log(300), (3, count))) * ONE
    y = means[0] / ONE + rng.normal(0, 3, count)
    y[:5] = [1e4, -3e5, 7e6, -2e9, 0.4]  # far outside every table: escaped
    return [np.round(a) for a in (logits, means, scales)], y


def test_a_mixture_latent_decodes_exactly_escapes_included(tables):
    (logits, means, scales), y = random_mixture(3000)
    encoder = SymbolEncoder()
    coded = tables.encode(encoder, y, logits, means, scales)
    decoded = tables.decode(SymbolDecoder(encoder.finish()), logits, means, scales)
    np.testing.assert_array_equal(decoded, coded)
    assert np.all(np.abs(coded / ONE - y) <= 0.5 + 1e-9)  # rounded around the reference mean, escapes too


def test_weights_halve_every_eleven_steps_and_the_reference_weighs_one():
    weights = weight_table()
    assert weights[0] == WEIGHT_ONE and np.all(np.diff(weights) <= 0) and weights[-1] == 0
    assert abs(weights[11] / WEIGHT_ONE - np.exp(-11 / 16)) < 1e-4


def test_tables_round_trip_through_arrays(tables):
    again = MixtureLatentTables.from_arrays(tables.to_arrays("y"), "y")
    assert again.families == FAMILIES
    np.testing.assert_array_equal(again.table.frequencies, tables.table.frequencies)
    np.testing.assert_array_equal(again.weights, tables.weights)


def test_integer_frequencies_follow_the_float_mixture(tables):
    """The coded probabilities are the mixture's, up to the tables' precision and the dropped fractional offsets."""
    (logits, means, scales), _ = random_mixture(400, seed=1)
    means = (means // ONE) * ONE  # whole-symbol offsets: nothing dropped
    scales = np.repeat(np.round(gaussian_scale_table()[np.arange(400) % 36] * ONE)[None], 3, axis=0)  # on the grid, up to 16
    parts = tables.components(logits, means, scales)
    positions = np.arange(400)
    width = 1 << int(np.ceil(np.log2(parts.ranges.lengths.max() + 1)))
    frequencies = tables.frequencies(parts, positions, width)
    probabilities = frequencies / frequencies.sum(axis=1, keepdims=True)
    symbols = torch.arange(width, dtype=torch.float64)[None] + torch.from_numpy(parts.ranges.offsets)[:, None]  # (P, width)
    x = (symbols + torch.from_numpy(parts.reference_means / ONE)[:, None])[None, :, None]  # (1, P, 1, width)
    per_component = [torch.from_numpy(a.T)[None, :, :, None, None] / ONE for a in (logits, means, scales)]  # (1, P, K, 1, 1)
    expected = mixture_likelihood(x, per_component[0].expand(-1, -1, -1, 1, width), *per_component[1:], FAMILIES)[0, :, 0]
    inside = torch.arange(width)[None] < torch.from_numpy(parts.ranges.lengths)[:, None]
    likely = (inside & (expected > 1e-3)).numpy()
    ratio = probabilities[likely] / expected.numpy()[likely]
    assert likely.sum() > 1000 and np.all(np.abs(np.log(ratio)) < 0.1)  # weights are looked up in 1/16-nat steps

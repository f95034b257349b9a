import numpy as np

from licodec.entropy.coding_tables import CodingTables, FactorizedLatentTables, GaussianLatentTables, quantize_to_symbols, symbols_to_fixed
from licodec.entropy.mixture_coding import MixtureLatentTables
from licodec.models import ARCHITECTURES


def test_tables_of_every_architecture_survive_their_arrays(any_tiny_model):
    tables = any_tiny_model.tables
    again = CodingTables.from_arrays(tables.to_arrays())
    assert type(again.y) is type(tables.y) and (again.z is None) == (tables.z is None)
    assert set(again.networks) == set(tables.networks)
    for key, value in again.to_arrays().items():
        assert np.array_equal(value, tables.to_arrays()[key]), key


def test_each_kind_of_latent_gets_its_own_typed_tables(any_tiny_model):
    name = next(n for n, cls in ARCHITECTURES.items() if type(any_tiny_model) is cls)
    expected = {"bmshj2018-factorized": FactorizedLatentTables, "fu2023-gllmm": MixtureLatentTables}.get(name, GaussianLatentTables)
    assert isinstance(any_tiny_model.tables.y, expected)


def test_scale_indexes_count_the_thresholds_reached():
    tables = GaussianLatentTables.build()
    scales = tables.scale_thresholds[[0, 5]].astype(np.float64)
    indexes = tables.scale_indexes(np.concatenate([scales - 1, scales]))
    assert indexes.tolist() == [0, 5, 1, 6] and indexes.dtype == np.int32


def test_symbols_and_means_meet_on_the_fixed_grid():
    means = np.array([[1234.0, -5678.0]])
    y = np.array([[0.7, -3.2]], dtype=np.float32)
    symbols, y_hat = quantize_to_symbols(y, means)
    assert symbols.dtype == np.int64
    np.testing.assert_array_equal(symbols_to_fixed(symbols, means), y_hat)

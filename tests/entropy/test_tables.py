import numpy as np
import pytest

from licodec.entropy.tables import PRECISION_BITS, CategoricalTables, gaussian_pmf, pmf_to_frequencies


def test_frequencies_sum_to_precision_and_are_positive():
    pmf, _ = gaussian_pmf(3.0)
    freqs = pmf_to_frequencies(pmf)
    assert freqs.sum() == 1 << PRECISION_BITS
    assert freqs.min() >= 1
    assert len(freqs) == len(pmf) + 1  # escape entry


def test_negligible_mass_still_gets_a_count():
    freqs = pmf_to_frequencies(np.array([1.0, 0.0, 1e-30]))
    assert freqs.min() == 1


def test_gaussian_pmf_is_symmetric_and_covers_the_tails():
    pmf, offset = gaussian_pmf(2.0)
    assert offset == -(len(pmf) // 2)
    np.testing.assert_allclose(pmf, pmf[::-1], rtol=1e-12)
    assert 1 - pmf.sum() < 1e-8


def test_tables_round_trip_through_arrays_without_their_padding():
    tables = CategoricalTables.from_pmfs([gaussian_pmf(s)[0] for s in (0.5, 4.0)], [-3, -30])
    arrays = tables.to_arrays("t")
    assert arrays["t.packed"].dtype == np.uint16 and len(arrays["t.packed"]) == int(tables.lengths.sum()) + 2
    for stored in (arrays, {"t.frequencies": tables.frequencies, "t.lengths": tables.lengths, "t.offsets": tables.offsets}):
        again = CategoricalTables.from_arrays(stored, "t")  # as written now, and padded as licodec 0.5 wrote them
        np.testing.assert_array_equal(again.frequencies, tables.frequencies)
        np.testing.assert_array_equal(again.offsets, tables.offsets)
    with pytest.raises(ValueError, match="packed frequencies"):
        CategoricalTables.from_arrays({**arrays, "t.packed": arrays["t.packed"][:-1]}, "t")


def test_rows_that_do_not_sum_to_precision_are_refused():
    with pytest.raises(ValueError):
        CategoricalTables(np.array([[1, 2]], dtype=np.int32), np.array([1], dtype=np.int32), np.array([0], dtype=np.int32))

"""Integer coding tables: the frozen form of an entropy model.

Training sees float densities. Coding sees :class:`CategoricalTables`, integer
frequency tables built once at export in float64 and stored with the weights.
Encoder and decoder load the same integers, so no float difference between two
machines can ever change a probability.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import constriction
import numpy as np

PRECISION_BITS = 16
"""Each table's frequencies sum to 2**PRECISION_BITS. Part of the format."""

TAIL_MASS = 1e-9
"""Probability mass left outside a table's range; such symbols are escape-coded."""


@dataclass(frozen=True, eq=False)
class CategoricalTables:
    """A set of discrete distributions over integer symbols, one per row.

    Row ``t`` covers symbols ``offsets[t] .. offsets[t] + lengths[t] - 1``;
    its entry ``lengths[t]`` is the escape symbol for everything else.
    """

    frequencies: np.ndarray  # (T, L_max + 1) int32, zero-padded after the escape entry
    lengths: np.ndarray  # (T,) int32, number of in-range symbols per row
    offsets: np.ndarray  # (T,) int32, smallest in-range symbol per row
    _models: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        totals = self.frequencies.astype(np.int64).sum(axis=1)
        if not np.all(totals == 1 << PRECISION_BITS):
            raise ValueError("every table row must sum to 2**PRECISION_BITS")

    @property
    def num_tables(self) -> int:
        return int(self.lengths.shape[0])

    def entries(self, symbols: np.ndarray, indexes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each symbol's entry in its row (int64, same shape) and whether it is escaped (out of the row's range)."""
        return range_entries(symbols, self.lengths[indexes], self.offsets[indexes])

    def model(self, index: int):
        """The constriction model of row ``index``, built on first use and cached."""
        cached = self._models.get(index)
        if cached is None:
            row = self.frequencies[index, : int(self.lengths[index]) + 1].astype(np.float64)
            cached = constriction.stream.model.Categorical(row, perfect=False)
            self._models[index] = cached
        return cached

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """The rows without their zero padding, concatenated as uint16 (every entry is below 2**16: each row
        has at least two entries of at least 1)."""
        rows = [self.frequencies[t, : int(n) + 1] for t, n in enumerate(self.lengths)]
        return {
            f"{prefix}.packed": np.concatenate(rows).astype(np.uint16),
            f"{prefix}.lengths": self.lengths,
            f"{prefix}.offsets": self.offsets,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> CategoricalTables:
        """Tables stored by :meth:`to_arrays`, or padded as one (T, L_max + 1) int32 array (licodec 0.5 and before)."""
        lengths = np.ascontiguousarray(arrays[f"{prefix}.lengths"], dtype=np.int32)
        if f"{prefix}.frequencies" in arrays:
            frequencies = np.ascontiguousarray(arrays[f"{prefix}.frequencies"], dtype=np.int32)
        else:
            packed = np.asarray(arrays[f"{prefix}.packed"], dtype=np.int32)
            ends = np.cumsum(lengths.astype(np.int64) + 1)
            if len(packed) != (ends[-1] if len(ends) else 0):
                raise ValueError(f"{prefix}: {len(packed)} packed frequencies for rows of {ends[-1]}")
            frequencies = np.zeros((len(lengths), int(lengths.max(initial=0)) + 1), dtype=np.int32)
            for t, row in enumerate(np.split(packed, ends[:-1])):
                frequencies[t, : len(row)] = row
        return cls(frequencies=frequencies, lengths=lengths, offsets=np.ascontiguousarray(arrays[f"{prefix}.offsets"], dtype=np.int32))

    @classmethod
    def from_pmfs(cls, pmfs: list[np.ndarray], offsets: list[int]) -> CategoricalTables:
        """Quantise float64 pmfs (in-range mass only) into integer tables with an escape entry."""
        rows = [pmf_to_frequencies(pmf) for pmf in pmfs]
        width = max(len(r) for r in rows)
        frequencies = np.zeros((len(rows), width), dtype=np.int32)
        for i, r in enumerate(rows):
            frequencies[i, : len(r)] = r
        return cls(
            frequencies=frequencies,
            lengths=np.array([len(p) for p in pmfs], dtype=np.int32),
            offsets=np.array(offsets, dtype=np.int32),
        )


@dataclass(frozen=True)
class SymbolRanges:
    """Only the ranges of a set of rows: row ``t`` covers the symbols ``offsets[t] .. offsets[t] + lengths[t] - 1``,
    entry ``lengths[t]`` escapes. For symbols coded under frequencies built per symbol (``rows`` of the coder)."""

    lengths: np.ndarray  # (T,) int64
    offsets: np.ndarray  # (T,) int64

    def entries(self, symbols: np.ndarray, indexes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return range_entries(symbols, self.lengths[indexes], self.offsets[indexes])


def range_entries(symbols: np.ndarray, lengths: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each symbol's entry in a range starting at ``offsets`` of ``lengths`` symbols, and whether it is escaped."""
    relative = np.asarray(symbols, dtype=np.int64) - offsets
    escaped = (relative < 0) | (relative >= lengths)
    return np.where(escaped, lengths, relative), escaped


def pmf_to_frequencies(pmf: np.ndarray, precision_bits: int = PRECISION_BITS) -> np.ndarray:
    """Integer frequencies for ``pmf`` plus one escape entry, each >= 1, summing to 2**precision_bits.

    The escape gets the mass the pmf leaves out. Every symbol keeps a nonzero
    frequency so that any value can be coded, however unlikely the model thought it.
    """
    pmf = np.asarray(pmf, dtype=np.float64)
    total = 1 << precision_bits
    if len(pmf) + 1 > total // 2:
        raise ValueError(f"a table of {len(pmf)} symbols is too long for {precision_bits}-bit precision")
    escape = max(1.0 - float(pmf.sum()), 0.0)
    probs = np.append(np.clip(pmf, 0.0, None), escape)
    free = total - len(probs)  # one count is reserved for each entry
    freqs = 1 + np.floor(probs / probs.sum() * free).astype(np.int64)
    # Hand the rounding remainder to the largest entries, deterministically.
    remainder = total - int(freqs.sum())
    order = np.argsort(-probs, kind="stable")
    freqs[order[:remainder]] += 1
    assert freqs.sum() == total and freqs.min() >= 1
    return freqs.astype(np.int32)


SCALE_MIN = 0.11
SCALE_MAX = 256.0
SCALE_LEVELS = 64
"""The scale grid of the indexed tables (CompressAI's constants). Part of the format."""


def gaussian_scale_table(minimum: float = SCALE_MIN, maximum: float = SCALE_MAX, levels: int = SCALE_LEVELS) -> np.ndarray:
    """Log-spaced standard deviations of the indexed Gaussian tables (as in Ballé et al. 2018)."""
    return np.exp(np.linspace(math.log(minimum), math.log(maximum), levels))


def scale_thresholds() -> np.ndarray:
    """Geometric midpoints between neighbouring table scales: scale >= t[k-1] selects table k."""
    table = gaussian_scale_table()
    return np.sqrt(table[:-1] * table[1:])


def build_gaussian_tables() -> CategoricalTables:
    """One integer table per scale of the grid, for symbol = round(y - mean)."""
    pmfs, offsets = zip(*(gaussian_pmf(float(s)) for s in gaussian_scale_table()))
    return CategoricalTables.from_pmfs(list(pmfs), list(offsets))


def gaussian_pmf(scale: float, tail_mass: float = TAIL_MASS) -> tuple[np.ndarray, int]:
    """pmf of round(N(0, scale^2)) over [-r, r], r covering all but ``tail_mass``; returns (pmf, -r)."""
    half_width = math.ceil(scale * standard_normal_quantile(1.0 - tail_mass / 2.0))
    distance = np.abs(np.arange(-half_width, half_width + 1, dtype=np.float64))
    # Evaluate on the lower tail, where the CDF is small and float64 keeps its precision.
    upper = normal_cdf((0.5 - distance) / scale)
    lower = normal_cdf((-0.5 - distance) / scale)
    return upper - lower, -half_width


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """The standard normal CDF, element by element with math.erfc: precise far into the lower tail."""
    return np.array([0.5 * math.erfc(-v / math.sqrt(2.0)) for v in np.atleast_1d(x)])


def standard_normal_quantile(p: float) -> float:
    """Inverse of the standard normal CDF by bisection (float64, no scipy needed)."""
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if 0.5 * math.erfc(-mid / math.sqrt(2.0)) < p:
            lo = mid
        else:
            hi = mid
    return hi

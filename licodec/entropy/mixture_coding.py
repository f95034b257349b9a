"""Exact coding of a latent under a mixture density: integer tables per family and scale, mixed in integers.

The mixture's parameters come out of integer networks (:mod:`licodec.nn.integer_network`) as
integers on the fixed-point grid: per element and component a weight logit, a mean and a
scale. Everything after that is integer arithmetic, so encoder and decoder build the
same frequencies on any machine:

- the component with the largest logit (the first on a tie) is the *reference*; the
  symbol is ``round(y - its mean)``, as for a Gaussian;
- component k's table is that of its family at its scale (the Gaussian's 64-level scale
  grid and integer thresholds), shifted by ``round(mean_k - reference mean)`` symbols;
- its weight is ``WEIGHTS[(max logit - logit_k) >> WEIGHT_STEP_BITS]``, a stored table of
  ``2**15 * exp(-d / 16)`` (components that weigh 0 are left out);
- an element's range is the union of the ranges of the components within 3 nats of the
  heaviest (so a light, wide component does not make every row wide); its frequencies
  are ``1 + sum_k weight_k * table_k(symbol)`` over that range, every component adding
  what falls inside it, and one escape entry takes ``1 + sum_k weight_k * escape_k`` over
  the spanning components.

The sums stay below 2**35, integers that float64 holds exactly; constriction normalises
them with the same IEEE operations everywhere (as for adaptive coding). The fractional
part of a component's offset from the reference is dropped: the price of exactness,
paid only by the lighter components.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from licodec.entropy.coder import SymbolDecoder, SymbolEncoder
from licodec.entropy.tables import (
    TAIL_MASS,
    CategoricalTables,
    SymbolRanges,
    gaussian_scale_table,
    normal_cdf,
    scale_thresholds,
    standard_normal_quantile,
)
from licodec.nn.integer_network import ACT_FRAC_BITS

ONE = 1 << ACT_FRAC_BITS
FAMILIES = ("gaussian", "laplacian", "logistic")
"""The component families a mixture may use; a weights file names them by their index here. Part of the format."""
WEIGHT_STEP_BITS = 6
"""Logit differences are looked up in steps of 2**6 on the fixed grid: 1/16 nat. Part of the format."""
WEIGHT_LEVELS = 256
"""Entries of the weight table; differences beyond it weigh 0. Part of the format."""
WEIGHT_ONE = 1 << 15
"""The weight of the reference component."""
SPAN_STEPS = 48
"""Components within 48 steps (3 nats) of the heaviest span an element's range; lighter ones add what falls inside it.
Part of the format."""


def tail_width(family: str, scale: float, tail_mass: float = TAIL_MASS) -> int:
    """Half-width r of a table: P(|X| > r) <= tail_mass for X of ``family`` at ``scale``."""
    if family == "gaussian":
        return math.ceil(scale * standard_normal_quantile(1.0 - tail_mass / 2.0))
    if family == "laplacian":
        return math.ceil(scale * math.log(1.0 / tail_mass))
    if family == "logistic":
        return math.ceil(scale * math.log(2.0 / tail_mass))
    raise ValueError(f"unknown family {family!r}; known: {', '.join(FAMILIES)}")


def family_pmf(family: str, scale: float) -> tuple[np.ndarray, int]:
    """pmf of round(X) over [-r, r] for X of ``family`` centred at 0 (float64); returns (pmf, -r).

    The bins are folded onto the lower tail, as the training densities' (:mod:`licodec.entropy.mixture`) are.
    """
    r = tail_width(family, scale)
    distance = np.abs(np.arange(-r, r + 1, dtype=np.float64))
    return _lower_cdf(family, (0.5 - distance) / scale) - _lower_cdf(family, (-0.5 - distance) / scale), -r


def _lower_cdf(family: str, t: np.ndarray) -> np.ndarray:
    """The standard CDF of ``family`` at ``t``, in forms that keep relative precision for t < 0."""
    if family == "gaussian":
        return normal_cdf(t)
    if family == "laplacian":
        half_tail = 0.5 * np.exp(-np.abs(t))
        return np.where(t <= 0, half_tail, 1 - half_tail)
    if family == "logistic":
        return 1.0 / (1.0 + np.exp(-t))
    raise ValueError(f"unknown family {family!r}; known: {', '.join(FAMILIES)}")


def weight_table() -> np.ndarray:
    """``round(2**15 * exp(-i / 16))`` for i < WEIGHT_LEVELS, built once at export and stored (libm's exp may differ)."""
    return np.array([round(WEIGHT_ONE * math.exp(-i / (1 << (ACT_FRAC_BITS - WEIGHT_STEP_BITS)))) for i in range(WEIGHT_LEVELS)], dtype=np.int64)


@dataclass(frozen=True)
class Components:
    """What the integer parameters of P elements say, per component (arrays (K, P), int64) and per element (P,)."""

    rows: np.ndarray  # table row of each component
    shifts: np.ndarray  # its offset from the reference mean, in whole symbols
    weights: np.ndarray  # its integer weight (0: left out)
    spans: np.ndarray  # whether its range is part of the element's (bool)
    reference_means: np.ndarray  # (P,) the reference component's mean, on the fixed grid
    ranges: SymbolRanges  # (P,) the union of the weighted components' ranges


@dataclass(frozen=True, eq=False)
class MixtureLatentTables:
    """A latent coded under a mixture whose K components are of ``families`` (y of a mixture model)."""

    table: CategoricalTables  # SCALE_LEVELS rows per family present, in FAMILIES order
    scale_thresholds: np.ndarray  # int64 on the fixed grid, as GaussianLatentTables'
    weights: np.ndarray  # (WEIGHT_LEVELS,) int64: weight_table()
    families: tuple[str, ...]  # of the components, in the order the networks emit them
    _window_cache: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(cls, families: tuple[str, ...]) -> MixtureLatentTables:
        present = [f for f in FAMILIES if f in families]
        pmfs, offsets = zip(*(family_pmf(f, float(s)) for f in present for s in gaussian_scale_table()))
        thresholds = np.ceil(scale_thresholds() * ONE).astype(np.int64)
        return cls(CategoricalTables.from_pmfs(list(pmfs), list(offsets)), thresholds, weight_table(), tuple(families))

    def to_arrays(self, name: str) -> dict[str, np.ndarray]:
        return {
            **self.table.to_arrays(f"tables.{name}"),
            "integers.scale_thresholds": self.scale_thresholds,
            "integers.mixture_weights": self.weights,
            "integers.mixture_families": np.array([FAMILIES.index(f) for f in self.families], dtype=np.int32),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], name: str) -> MixtureLatentTables:
        families = tuple(FAMILIES[int(i)] for i in arrays["integers.mixture_families"])
        return cls(
            CategoricalTables.from_arrays(arrays, f"tables.{name}"),
            np.asarray(arrays["integers.scale_thresholds"], dtype=np.int64),
            np.asarray(arrays["integers.mixture_weights"], dtype=np.int64),
            families,
        )

    def components(self, logits: np.ndarray, means: np.ndarray, scales: np.ndarray) -> Components:
        """The components of P elements from their integer (K, P) logits, means and scales."""
        logits, means, scales = (np.asarray(a, dtype=np.int64) for a in (logits, means, scales))
        present = [f for f in FAMILIES if f in self.families]
        levels = len(self.scale_thresholds) + 1
        base = np.array([present.index(f) * levels for f in self.families], dtype=np.int64)[:, None]
        rows = base + np.searchsorted(self.scale_thresholds, scales, side="right")
        reference = np.argmax(logits, axis=0)
        reference_means = np.take_along_axis(means, reference[None], 0)[0]
        shifts = (means - reference_means + ONE // 2) // ONE
        steps = (logits.max(axis=0) - logits) >> WEIGHT_STEP_BITS
        weights = np.where(steps < WEIGHT_LEVELS, self.weights[np.minimum(steps, WEIGHT_LEVELS - 1)], 0)
        low = self.table.offsets[rows] + shifts
        high = low + self.table.lengths[rows] - 1
        spans = steps < SPAN_STEPS
        start = np.where(spans, low, np.iinfo(np.int64).max).min(axis=0)
        end = np.where(spans, high, np.iinfo(np.int64).min).max(axis=0)
        return Components(rows, shifts, weights, spans, reference_means, SymbolRanges(lengths=end - start + 1, offsets=start))

    def frequencies(self, parts: Components, positions: np.ndarray, width: int) -> np.ndarray:
        """Rows (len(positions), width) of integer frequencies (float64) for :class:`SymbolEncoder`'s ``rows``."""
        lengths = parts.ranges.lengths[positions]
        counts = (np.arange(width)[None, :] < lengths[:, None]).astype(np.float64)  # integers, exact below 2**53
        escape = np.ones(len(positions), dtype=np.int64)
        windows = self._windows(width)
        for k in range(parts.rows.shape[0]):
            rows, weights = parts.rows[k, positions], parts.weights[k, positions]
            shift = self.table.offsets[rows] + parts.shifts[k, positions] - parts.ranges.offsets[positions]
            meets = (shift >= -width) & (shift <= 2 * width)  # beyond, a light component misses the range entirely
            weights = np.where(meets, weights, 0)
            counts += windows[rows, 2 * width - np.where(meets, shift, 0)] * weights[:, None].astype(np.float64)
            escape += np.where(parts.spans[k, positions], weights * self.table.frequencies[rows, self.table.lengths[rows]], 0)
        np.put_along_axis(counts, lengths[:, None], escape[:, None].astype(np.float64), 1)
        return counts

    def _windows(self, width: int) -> np.ndarray:
        """(T, 3 width + 1, width) view: window ``2 width - c`` of row t is its table placed ``c`` entries in (c may be
        negative: a light component starting before the range), zeros around, cut to the width.

        One row copy per element and component instead of a gather per entry; built once per width class.
        """
        cached = self._window_cache.get(width)
        if cached is None:
            padded = np.zeros((self.table.num_tables, 4 * width), dtype=np.int32)
            for t, length in enumerate(self.table.lengths):
                if length < width:  # a spanning row is shorter than its range's width class; longer light ones add nothing
                    padded[t, 2 * width : 2 * width + length] = self.table.frequencies[t, :length]
            cached = self._window_cache[width] = np.lib.stride_tricks.sliding_window_view(padded, width, axis=1)
        return cached

    def encode(self, encoder: SymbolEncoder, y: np.ndarray, logits: np.ndarray, means: np.ndarray, scales: np.ndarray) -> np.ndarray:
        """Code the P elements of ``y`` (float, (P,)) under their mixtures ((K, P) integers);
        returns their coded values on the fixed grid (float64, (P,))."""
        parts = self.components(logits, means, scales)
        symbols = np.round(np.asarray(y, dtype=np.float64) - parts.reference_means / ONE).astype(np.int64)
        encoder.encode(symbols, np.arange(len(symbols)), parts.ranges, rows=lambda positions, width: self.frequencies(parts, positions, width))
        return (symbols * ONE + parts.reference_means).astype(np.float64)

    def decode(self, decoder: SymbolDecoder, logits: np.ndarray, means: np.ndarray, scales: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`encode`, from the same integer parameters."""
        parts = self.components(logits, means, scales)
        count = parts.reference_means.shape[0]
        symbols = decoder.decode(np.arange(count), parts.ranges, rows=lambda positions, width: self.frequencies(parts, positions, width))
        return (symbols.astype(np.int64) * ONE + parts.reference_means).astype(np.float64)

"""Argument types shared by every command: each turns a string into a checked value or an argparse error."""

from __future__ import annotations

import argparse
import itertools


def number(text: str, kind: type, minimum: float) -> float:
    """``text`` as ``kind`` (int or float), finite and at least ``minimum``."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a {'whole ' if kind is int else ''}number, not {text!r}") from None
    if not minimum <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number of at least {minimum}, not {text}")
    return value


def positive_int(text: str) -> int:
    return number(text, int, 1)


def non_negative_int(text: str) -> int:
    return number(text, int, 0)


def positive_float(text: str) -> float:
    value = number(text, float, 0.0)
    if value == 0:
        raise argparse.ArgumentTypeError("expected a positive number, not 0")
    return value


def quality_value(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"quality must be an integer from 1 to 100, not {text!r}") from None
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"quality must be an integer from 1 to 100, not {value}")
    return value


def quality_list(text: str) -> list[int]:
    """Comma-separated qualities, e.g. ``10,50,90``: sorted, without repeats."""
    return sorted({quality_value(part.strip()) for part in text.split(",") if part.strip()}) or [quality_value(text)]


def int_list(text: str) -> tuple[int, ...]:
    """Comma-separated positive integers, e.g. ``128,128,64``."""
    return tuple(positive_int(part.strip()) for part in text.split(","))


def float_list(text: str) -> tuple[float, ...]:
    """Comma-separated positive numbers, e.g. ``1,1,2`` (``--rung-weights``: how often each rung is drawn, relative)."""
    return tuple(positive_float(part.strip()) for part in text.split(","))


def rate_ladder(text: str) -> tuple[float, ...]:
    """Comma-separated λ, one per rung, increasing (so that rate rises with quality); at least two."""
    values = float_list(text)
    if len(values) < 2 or any(b <= a for a, b in itertools.pairwise(values)):
        raise argparse.ArgumentTypeError(f"expected at least two increasing multipliers, not {text!r}")
    return values


def step_pair(text: str) -> tuple[int, int]:
    """Two step numbers, the second not before the first (``--distill-stages 2000,5000``)."""
    parts = [non_negative_int(part.strip()) for part in text.split(",")]
    if len(parts) != 2 or parts[1] < parts[0]:
        raise argparse.ArgumentTypeError(f"expected two steps A,B with A <= B, not {text!r}")
    return parts[0], parts[1]


def decay(text: str) -> float:
    """An exponential-average decay in [0, 1): 1 would freeze the average at the initial weights."""
    value = number(text, float, 0.0)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a decay from 0 up to (not including) 1, not {text}")
    return value


def crop_side(text: str) -> int:
    """A training crop side: a positive multiple of 64, the network's total downsampling."""
    value = positive_int(text)
    if value % 64:
        raise argparse.ArgumentTypeError(f"the crop side must be a multiple of 64 (the network downsamples by 64), not {value}")
    return value


def non_negative_float(text: str) -> float:
    return number(text, float, 0.0)


def file_command(sub: argparse._SubParsersAction, name: str, summary: str, output: str, input: str = "input file") -> argparse.ArgumentParser:
    """A command that reads one input and writes one output: ``input``, ``-o`` and ``--force``, the same everywhere."""
    parser = sub.add_parser(name, help=summary)
    parser.add_argument("input", help=f"{input}, or - for standard input")
    parser.add_argument("-o", "--output", help=output)
    parser.add_argument("--force", action="store_true", help="overwrite an existing output")
    return parser


def files_command(sub: argparse._SubParsersAction, name: str, summary: str, output: str, input: str) -> argparse.ArgumentParser:
    """:func:`file_command` for a command that also takes several inputs or folders, in one process."""
    parser = sub.add_parser(name, help=summary)
    parser.add_argument("inputs", nargs="+", metavar="input", help=f"{input}, or - for standard input; several, or folders, to code many")
    parser.add_argument("-o", "--output", help=f"{output}; with several inputs, a folder")
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    return parser

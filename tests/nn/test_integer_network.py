import subprocess
import sys

import numpy as np
import pytest

from licodec.coding.procedures import checkerboard_anchor_mask
from licodec.nn.fixed_point import compile_network
from licodec.nn.integer_network import ACT_LIMIT, run_layer, run_layer_at
from tests.nn.reference_int64 import run_network_int64
from tests.nn.test_fixed_point import networks, random_input


@pytest.mark.parametrize("name", ["hyper_synthesis", "context", "entropy_parameters"])
def test_float64_evaluation_equals_independent_int64_reference(name):
    network = networks()[name]
    fixed = compile_network(network)
    channels = next(m for m in network if hasattr(m, "in_channels")).in_channels
    x = random_input((2, channels, 7, 5))
    np.testing.assert_array_equal(fixed(x).astype(np.int64), run_network_int64(fixed, x.astype(np.int64)))


@pytest.mark.parametrize("anchors", [True, False])
def test_evaluating_at_some_positions_equals_the_full_layer_there(anchors):
    layer = compile_network(networks()["context"]).layers[0]
    x = random_input((1, 5, 7, 6), seed=2, spread=30)
    positions = checkerboard_anchor_mask(7, 6) == anchors
    full = run_layer(layer, x).reshape(1, layer.weight.shape[0], -1)[:, :, np.flatnonzero(positions)]
    np.testing.assert_array_equal(run_layer_at(layer, x, positions), full)


def test_a_layer_restricted_to_some_outputs_and_nonzero_inputs_computes_exactly_those_outputs():
    network = compile_network(networks()["entropy_parameters"])
    x = random_input((1, 10, 3, 4), seed=3, spread=40)
    dead = np.zeros(10, dtype=bool)
    dead[[2, 7]] = True
    x[:, dead] = 0
    outputs = np.array([0, 3, 5])
    restricted = network.with_outputs(outputs)
    np.testing.assert_array_equal(restricted(x), network(x)[:, outputs])
    first = network.layers[0]
    np.testing.assert_array_equal(run_layer(first.select(inputs=~dead), x[:, ~dead]), run_layer(first, x))
    assert network.with_outputs(None) is network


def test_inputs_beyond_the_activation_range_are_clamped_not_inexact():
    fixed = compile_network(networks()["entropy_parameters"])
    x = np.full((1, 10, 2, 2), 2.0**60)
    clamped = np.full((1, 10, 2, 2), float(ACT_LIMIT))
    np.testing.assert_array_equal(fixed(x), fixed(clamped))
    np.testing.assert_array_equal(fixed(x).astype(np.int64), run_network_int64(fixed, clamped.astype(np.int64)))


def test_results_do_not_depend_on_the_number_of_blas_threads():
    script = (
        "import hashlib; from tests.nn.test_fixed_point import networks, random_input; "
        "from licodec.nn.fixed_point import compile_network; "
        "print(hashlib.sha256(compile_network(networks()['hyper_synthesis'])(random_input((1, 6, 16, 16), seed=5, spread=50)).tobytes()).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script], env={"OPENBLAS_NUM_THREADS": threads, "PATH": ""}, capture_output=True, text=True, check=True
        ).stdout
        for threads in ("1", "2")
    }
    assert len(digests) == 1

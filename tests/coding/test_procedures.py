import numpy as np
import pytest

from licodec.coding.procedures import PROCEDURES, checkerboard_anchor_mask, neighbour_classes
from licodec.models import ARCHITECTURES
from licodec.models.catalog import ARCHITECTURE_NAMES
from licodec.nn import layers


def test_checkerboard_neighbour_classes_count_nonzero_anchors_around_each_non_anchor():
    anchor = checkerboard_anchor_mask(3, 4)  # anchors where (row + column) is odd
    grid = np.zeros((3, 4), dtype=np.int32)
    grid[0, 1], grid[1, 0], grid[1, 2] = 5, -1, 2  # anchors
    classes = neighbour_classes(grid[anchor][None, None], anchor)
    # non-anchors in C order: (0,0) (0,2) (1,1) (1,3) (2,0) (2,2): nonzero neighbours 2, 2, 3, 1, 1, 1
    np.testing.assert_array_equal(classes, [[[3, 3, 3, 2, 2, 2]]])


@pytest.mark.parametrize("shape", [(1, 1), (3, 4), (6, 5)])
def test_the_training_mask_is_the_coding_mask(shape):
    np.testing.assert_array_equal(layers.checkerboard_anchor_mask(*shape).numpy(), checkerboard_anchor_mask(*shape))


def test_every_registered_architecture_has_its_procedure_and_a_catalogue_entry():
    assert tuple(ARCHITECTURES) == ARCHITECTURE_NAMES == tuple(PROCEDURES)
    for name, cls in ARCHITECTURES.items():
        assert cls.procedure is PROCEDURES[name]

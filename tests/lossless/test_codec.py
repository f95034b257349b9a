import subprocess
import sys

import numpy as np
import pytest

from licodec.errors import CorruptBitstreamError
from licodec.lossless.order import PROFILES
from tests.conftest import smooth_image
from tests.conftest import tiny_lossless_coder as tiny_coder


@pytest.mark.parametrize("shape", [(3, 1, 1), (3, 2, 5), (3, 37, 20), (1, 9, 14)])
@pytest.mark.parametrize("profile", list(PROFILES))
def test_any_tile_decodes_to_exactly_its_pixels(shape, profile):
    coder = tiny_coder()
    x = np.random.default_rng(1).integers(0, 256, size=shape).astype(np.uint8)
    np.testing.assert_array_equal(coder.decode(coder.encode(x, profile), *shape, profile), x)


def test_damaged_streams_never_decode_silently_to_out_of_range_values():
    coder = tiny_coder()
    x = smooth_image(16, 16).transpose(2, 0, 1).copy()
    streams = coder.encode(x, "fast")
    damaged = bytearray(streams[0])
    damaged[len(damaged) // 2] ^= 0xFF
    try:
        decoded = coder.decode([bytes(damaged), streams[1]], 3, 16, 16, "fast")
    except CorruptBitstreamError:
        return
    assert decoded.dtype == np.uint8  # the file-level checksum catches wrong pixels (tests/lossless/test_files.py)


def test_decoding_is_the_same_on_one_and_two_threads(lossless_weights):
    script = (
        "import hashlib, numpy as np; from licodec.lossless.weights import load_lossless; "
        "from tests.conftest import smooth_image; "
        f"coder, _ = load_lossless({str(lossless_weights)!r}); x = smooth_image(24, 40).transpose(2, 0, 1).copy(); "
        "print(hashlib.sha256(b''.join(coder.encode(x, 'max'))).hexdigest())"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={"OPENBLAS_NUM_THREADS": t, "OMP_NUM_THREADS": t, "PATH": ""},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for t in ("1", "2")
    }
    assert len(digests) == 1

import numpy as np
import pytest

from licodec.errors import LicodecError, UnknownModelError
from licodec.storage import WEIGHTS_DIR, find_file, load_arrays, pack_12bit, save_arrays, save_document, unpack_12bit, weights_hash


def test_arrays_and_metadata_round_trip_and_leave_no_temporary_file(tmp_path):
    path = tmp_path / "w.safetensors"
    digest = save_arrays(path, {"a": np.arange(6, dtype=np.float16).reshape(2, 3)}, {"config": "{}"})
    arrays, metadata = load_arrays(path, "test")
    assert np.array_equal(arrays["a"], np.arange(6).reshape(2, 3)) and metadata == {"config": "{}"}
    assert digest == weights_hash(path) and len(digest) == 16
    assert [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]
    assert (path.stat().st_mode & 0o777) == 0o644


def test_a_rewritten_file_gets_its_new_hash(tmp_path):
    path = tmp_path / "w.safetensors"
    first = save_arrays(path, {"a": np.zeros(2, dtype=np.float32)}, {})
    assert save_arrays(path, {"a": np.ones(2, dtype=np.float32)}, {}) != first


def test_a_file_that_is_not_safetensors_is_one_user_error(tmp_path):
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a weights file")
    with pytest.raises(LicodecError, match="not a licodec pre-filter file"):
        load_arrays(junk, "pre-filter")
    with pytest.raises(LicodecError, match="no such file"):
        load_arrays(tmp_path / "missing.safetensors", "pre-filter")


def test_names_find_shipped_files_and_paths_find_files(tmp_path):
    assert find_file("licodec-mse", ".safetensors", "weights", "export") == WEIGHTS_DIR / "licodec-mse.safetensors"
    mine = tmp_path / "mine.json"
    save_document(mine, {"format": "x"})
    assert find_file(str(mine), ".json", "table set", "train tables") == mine
    with pytest.raises(UnknownModelError, match="make one with 'licodec train tables'"):
        find_file("no-such-set", ".json", "table set", "train tables")
    with pytest.raises(UnknownModelError, match="no such table set file"):
        find_file(str(tmp_path / "absent.json"), ".json", "table set", "train tables")


@pytest.mark.parametrize("count", [0, 1, 2, 7])
def test_12bit_packing_round_trips_the_whole_range(count):
    values = np.array([-2048, 2047, 0, -1, 1, 1000, -999][:count])
    packed = pack_12bit(values)
    assert packed.dtype == np.uint8 and len(packed) == 3 * ((count + 1) // 2)
    np.testing.assert_array_equal(unpack_12bit(packed, count), values)
    with pytest.raises(ValueError):
        pack_12bit(np.array([2048]))

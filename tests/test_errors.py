import pytest

from licodec.errors import LicodecError
from licodec.jpeg_tools.postfilter import bank_file, load_bank
from licodec.jpeg_tools.prefilter import load_prefilter, prefilter_file
from licodec.models import load_weights
from licodec.storage import WEIGHTS_DIR

LOADERS = {
    "post-filter bank": (lambda path: load_bank(str(path)), prefilter_file),
    "pre-filter": (lambda path: load_prefilter(str(path)), bank_file),
    "weights": (load_weights, bank_file),
}


@pytest.mark.parametrize("what", LOADERS)
@pytest.mark.parametrize("content", ["junk", "another kind"])
@pytest.mark.parametrize("name", ["file.safetensors", "file.json"])
def test_a_file_licodec_did_not_write_for_this_purpose_is_refused_in_one_line(tmp_path, what, content, name):
    load, other_kind = LOADERS[what]
    path = tmp_path / name
    path.write_bytes(b"junk" if content == "junk" else other_kind().read_bytes())
    with pytest.raises(LicodecError, match=f"not a licodec {what} file") as raised:
        load(path)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("load", [load_bank, load_prefilter])
def test_a_missing_path_is_no_such_file_not_an_uninstalled_name(tmp_path, load):
    for name in (str(tmp_path / "gone.safetensors"), str(tmp_path / "gone")):
        with pytest.raises(LicodecError, match=r"gone.*: no such .* file"):
            load(name)


def test_the_shipped_files_load():
    assert load_bank()[1] is not None and load_prefilter() is not None
    assert load_weights(WEIGHTS_DIR / "licodec-mse.safetensors")[0] is not None

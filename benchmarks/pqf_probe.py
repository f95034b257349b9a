"""Would a post-quantisation filter (PQF) on the decoded latent pay, with every shipped weight frozen?

    .venv/bin/python benchmarks/pqf_probe.py [--variant pqf|decoder|both] [--steps 1500] [--width 64] [--kodak-images 8] [--rung-weights W,...]

Figures it measured: docs/results.md.

A PQF (in the spirit of video coding's SAO) is a small residual network that runs on
the quantised latent, after the decoder's inverse gains and before g_s, to undo part of
the quantisation error. It runs after quantisation, so the rate stays exactly what it
was: whatever it gains is distortion at equal bits. The probe trains it (``pqf``), or
fine-tunes g_s alone on the same exactly quantised latents as a control (``decoder``),
or both, on crops of the training photographs drawn at random rungs, with g_a, the
hyperprior and the context frozen. Latents are precomputed once per crop.

It prints the held-out PSNR change per rung every 250 steps, then, on the first Kodak
images at the eight qualities ``licodec eval`` uses, the PSNR change at identical rate
and the PSNR BD-rate it amounts to (float pipeline: rounding around the predicted
means as the training pass does), and the filter's share of g_s's multiply-adds.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from licodec.api import _pad, load_model
from licodec.eval.bdrate import bd_rate
from licodec.eval.codecs import LICODEC_QUALITIES
from licodec.nn.blocks import PostQuantisationFilter
from licodec.train.data import load_split, sample_batch

ROOT = Path(__file__).resolve().parent.parent


def quantised_latent(model, x: torch.Tensor, position: float) -> torch.Tensor:
    """The inverse-gained y_hat the decoder sees: y rounded around its predicted means (float path)."""
    positions = torch.full((x.shape[0],), float(position))
    y = model.encode_latent(x, positions)
    _, means, _ = model.latent_parameters(y)
    y_hat = torch.round(y - means) + means
    return y_hat * model.gains.inverse_gain(positions)


def reconstruct(model, pqf: PostQuantisationFilter | None, z: torch.Tensor) -> torch.Tensor:
    """g_s of the latent, through the filter when there is one."""
    return model.g_s(pqf(z) if pqf is not None else z)


def psnr(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR of 8-bit reconstructions, (N,)."""
    x_hat = torch.round(x_hat.clamp(0, 1) * 255) / 255
    return -10 * torch.log10(((x_hat - x) ** 2).mean(dim=(1, 2, 3)))


def precompute(model, data, count: int, crop: int, seed: int, rung_weights=None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(crops, their latents, their rungs) for ``count`` crops, each at a rung drawn at random
    (in proportion to ``rung_weights``, as ``licodec train model --rung-weights`` draws them; default evenly)."""
    rng = np.random.default_rng(seed)
    p = None if rung_weights is None else np.asarray(rung_weights) / np.sum(rung_weights)
    crops, latents, rungs = [], [], []
    with torch.no_grad():
        for start in range(0, count, 8):
            x = torch.round(sample_batch(data, seed, start, min(8, count - start), crop) * 255) / 255
            batch_rungs = rng.choice(model.config.num_rates, size=len(x), p=p)
            for i, rung in enumerate(batch_rungs):
                latents.append(quantised_latent(model, x[i : i + 1], float(rung)))
            crops.append(x)
            rungs.extend(batch_rungs.tolist())
    return torch.cat(crops), torch.cat(latents), torch.tensor(rungs)


def held_out_psnr(model, pqf, crops, latents, rungs) -> np.ndarray:
    """Mean PSNR per rung of the held-out crops."""
    with torch.no_grad():
        values = torch.cat([psnr(reconstruct(model, pqf, latents[i : i + 8]), crops[i : i + 8]) for i in range(0, len(crops), 8)])
    return np.array([float(values[rungs == r].mean()) for r in range(model.config.num_rates)])


def kodak_curves(model, changed, pqf, paths: list[Path]) -> tuple[dict, dict]:
    """Estimated-bpp / PSNR curves over the qualities licodec eval uses: ``model`` as shipped, and with
    ``changed``'s synthesis and ``pqf`` on the same latents (so at the same rate)."""
    before = {"bpp": [], "psnr-rgb": []}
    after = {"bpp": [], "psnr-rgb": []}
    for quality in LICODEC_QUALITIES:
        position = model.rate_position(quality)
        bpps, plain, filtered = [], [], []
        for path in paths:
            x = torch.from_numpy(np.array(Image.open(path).convert("RGB"))).permute(2, 0, 1)[None].float() / 255
            h, w = x.shape[-2:]
            padded = _pad(x, model.pad_multiple)
            with torch.no_grad():
                out = model(padded, torch.full((1,), position))
                bits = -sum(torch.log2(likelihood).sum() for likelihood in out["likelihoods"].values())
                z = quantised_latent(model, padded, position)
                bpps.append(float(bits) / (h * w))
                plain.append(float(psnr(reconstruct(model, None, z)[..., :h, :w], x)))
                filtered.append(float(psnr(reconstruct(changed, pqf, z)[..., :h, :w], x)))
        for curve, values in ((before, plain), (after, filtered)):
            curve["bpp"].append(float(np.mean(bpps)))
            curve["psnr-rgb"].append(float(np.mean(values)))
    return before, after


def multiply_adds_share(model, pqf: PostQuantisationFilter, height: int = 512, width: int = 768) -> float:
    """The filter's multiply-adds over g_s's, counted with forward hooks on a (height, width) image."""
    counts = {"pqf": 0, "g_s": 0}

    def counter(name):
        def hook(module, inputs, output):
            kernel = module.weight.shape[2] * module.weight.shape[3]
            in_channels = module.in_channels // module.groups
            if isinstance(module, nn.ConvTranspose2d):  # each input position feeds kernel taps of every output channel
                counts[name] += inputs[0].numel() * kernel * module.out_channels
            else:
                counts[name] += output.numel() * kernel * in_channels

        return hook

    hooks = [m.register_forward_hook(counter("pqf")) for m in pqf.modules() if isinstance(m, nn.Conv2d)]
    hooks += [m.register_forward_hook(counter("g_s")) for m in model.g_s.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    with torch.no_grad():
        z = torch.zeros(1, model.config.latent_channels, height // 16, width // 16)
        pqf(z)
        model.g_s(z)
    for hook in hooks:
        hook.remove()
    return counts["pqf"] / counts["g_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", choices=["pqf", "decoder", "both"], default="pqf")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "train"))
    parser.add_argument("--kodak", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    parser.add_argument("--kodak-images", type=int, default=8)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--pool", type=int, default=800, help="training crops, precomputed once")
    parser.add_argument("--width", type=int, default=64, help="the filter's hidden channels")
    parser.add_argument("--lr", type=float, default=1e-4, help="the filter's learning rate")
    parser.add_argument("--decoder-lr", type=float, default=1e-5, help="g_s's learning rate (variants decoder and both)")
    parser.add_argument("--rung-weights", help="training crops' rungs drawn in proportion to these, e.g. 1,1,1,1.5,2.5,3 (default: evenly)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = load_model()
    model.eval().requires_grad_(False)
    model.to(memory_format=torch.contiguous_format)
    rung_weights = [float(w) for w in args.rung_weights.split(",")] if args.rung_weights else None
    shipped = copy.deepcopy(model)  # load_model's instance is shared: keep an untouched copy to compare with
    pqf = PostQuantisationFilter(model.config.latent_channels, args.width)
    groups = []
    if args.variant in ("pqf", "both"):
        groups.append({"params": list(pqf.parameters()), "lr": args.lr})
    if args.variant in ("decoder", "both"):
        model.g_s.requires_grad_(True)
        groups.append({"params": list(model.g_s.parameters()), "lr": args.decoder_lr})
    train, held_out = load_split([args.data], 0.03, args.crop, args.crop)
    start = time.time()
    crops, latents, _ = precompute(model, train, args.pool, args.crop, args.seed, rung_weights)
    test_crops, test_latents, test_rungs = precompute(model, held_out, 48, args.crop, args.seed + 1)
    baseline = held_out_psnr(model, None, test_crops, test_latents, test_rungs)
    print(f"precomputed {len(crops)} training and {len(test_crops)} held-out crops in {time.time() - start:.0f} s", flush=True)
    print("held-out PSNR per rung before:", " ".join(f"{v:.2f}" for v in baseline), flush=True)
    optimizer = torch.optim.Adam(groups)
    rng = np.random.default_rng(args.seed)
    for step in range(args.steps + 1):
        if step % 250 == 0 or step == args.steps:
            model.g_s.eval()
            change = held_out_psnr(model, pqf, test_crops, test_latents, test_rungs) - baseline
            print(f"step {step}: held-out PSNR change per rung {' '.join(f'{v:+.3f}' for v in change)} dB ({time.time() - start:.0f} s)", flush=True)
        if step == args.steps:
            break
        pick = torch.from_numpy(rng.integers(len(crops), size=args.batch_size))
        model.g_s.train(args.variant != "pqf")
        loss = ((reconstruct(model, pqf, latents[pick]) - crops[pick]) ** 2).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    model.g_s.eval()
    paths = sorted(args.kodak.glob("*.png"))[: args.kodak_images]
    before, after = kodak_curves(shipped, model, pqf if args.variant != "decoder" else None, paths)
    gains = np.array(after["psnr-rgb"]) - np.array(before["psnr-rgb"])
    print(f"Kodak ({len(paths)} images) PSNR change at identical rate per quality: {' '.join(f'{g:+.3f}' for g in gains)} dB")
    print(f"PSNR BD-rate: {bd_rate(before, after):+.2f}%")
    if args.variant != "decoder":
        print(f"the filter costs {100 * multiply_adds_share(model, pqf):.1f}% of g_s's multiply-adds")


if __name__ == "__main__":
    main()

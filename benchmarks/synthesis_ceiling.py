"""How close does each rung come to what the synthesis transform can reconstruct at all?

    .venv/bin/python benchmarks/synthesis_ceiling.py [WEIGHTS.safetensors] [--images 4] [--fit-steps 300]

Per rung of the rate ladder, averaged over the first Kodak images: the estimated
bpp and the PSNR of the training pass (latent rounded around its predicted mean),
the PSNR of g_s on the unquantised latent (what the transforms reach with no rate
limit), and, with ``--fit-steps``, the PSNR after fitting the latent itself to the
image by gradient descent through g_s on a 256² crop: the synthesis transform's own
ceiling, whatever the analysis transform gives it. If the quantised PSNR of the top
rungs sits close to these ceilings, more training of the entropy model cannot buy
much there: the decoder needs capacity.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from licodec.api import load_model
from licodec.models import load_weights

ROOT = Path(__file__).resolve().parent.parent


def psnr(x_hat: torch.Tensor, x: torch.Tensor) -> float:
    return float(-10 * torch.log10(((x_hat.clamp(0, 1) - x) ** 2).mean()))


def fitted_latent_psnr(model, x: torch.Tensor, position: float, steps: int) -> tuple[float, float]:
    """PSNR of g_s on g_a's unquantised latent of ``x``, and on a latent fitted to ``x`` by Adam from there."""
    y = model.encode_latent(x, position).detach()
    with torch.no_grad():
        start = psnr(model.decode_latent(y, position), x)
    y.requires_grad_(True)
    optimizer = torch.optim.Adam([y], lr=0.05)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = ((model.decode_latent(y, position) - x) ** 2).mean()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return start, psnr(model.decode_latent(y, position), x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("weights", type=Path, nargs="?", help="a weights file (default: the shipped default model)")
    parser.add_argument("--kodak", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    parser.add_argument("--images", type=int, default=4)
    parser.add_argument("--fit-steps", type=int, default=0, help="Adam steps fitting the latent through g_s (0: skip)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_weights(args.weights)[0] if args.weights else load_model()
    model.eval()
    model.requires_grad_(False)
    images = [
        torch.from_numpy(np.array(Image.open(p).convert("RGB"))).permute(2, 0, 1)[None].float() / 255
        for p in sorted(args.kodak.glob("*.png"))[: args.images]
    ]
    print(
        f"{'rung':>4} {'est. bpp':>9} {'quantised':>10} {'unquantised':>12}"
        + (f" {'unquantised 256²':>17} {'fitted 256²':>12}" if args.fit_steps else "")
    )
    for rung in range(model.config.num_rates):
        rows = []
        for x in images:
            with torch.no_grad():
                y = model.encode_latent(x, float(rung))
                out = model.forward_latent(y, float(rung))
                bits = -sum(torch.log2(lik).sum() for lik in out["likelihoods"].values())
                row = [float(bits) / (x.shape[-2] * x.shape[-1]), psnr(out["x_hat"], x), psnr(model.decode_latent(y, float(rung)), x)]
            if args.fit_steps:
                row.extend(fitted_latent_psnr(model, x[..., :256, :256], float(rung), args.fit_steps))
            rows.append(row)
        mean = np.mean(rows, axis=0)
        print(
            f"{rung:>4} {mean[0]:>9.3f} {mean[1]:>8.2f} dB {mean[2]:>9.2f} dB"
            + (f" {mean[3]:>14.2f} dB {mean[4]:>9.2f} dB" if args.fit_steps else "")
        )
    print(
        f"({len(images)} Kodak images; the 256² columns on each image's top-left crop, fitted by {args.fit_steps} Adam steps)"
        if args.fit_steps
        else f"({len(images)} Kodak images)"
    )


if __name__ == "__main__":
    main()

"""Seconds per training step of the default model's architecture, float32 against mixed precision, in one run.

    .venv/bin/python benchmarks/train_step.py [--crop 128] [--batch-size 8] [--steps 3] [--threads 2]

Times Trainer.train_step (eager, no torch.compile) on a random batch after one
warm-up step, and prints the CPU's capability as torch sees it: mixed precision
only pays where bfloat16 runs natively (licodec.train.loop.bfloat16_is_fast).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import torch

import licodec
from licodec.models import CodecConfig
from licodec.train.loop import Trainer, TrainSettings, bfloat16_is_fast


def seconds_per_step(config: CodecConfig, crop: int, batch_size: int, mixed_precision: bool, steps: int) -> float:
    with tempfile.TemporaryDirectory() as run_dir:
        settings = TrainSettings(data=[], run_dir=run_dir, config=config, crop=crop, batch_size=batch_size, mixed_precision=mixed_precision)
        trainer = Trainer(settings)
        x = torch.rand(batch_size, 3, crop, crop, generator=torch.Generator().manual_seed(0))
        times = []
        for _ in range(steps + 1):  # the first step warms up
            start = time.perf_counter()
            trainer.train_step(x)
            trainer.step += 1
            times.append(time.perf_counter() - start)
        return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, native bfloat16: {bfloat16_is_fast()}")
    config = licodec.load_model().config  # the shipped default's architecture and rate ladder
    print(f"default model's architecture, batch {args.batch_size} of {args.crop}², {args.threads} threads, median of {args.steps} steps")
    fp32 = seconds_per_step(config, args.crop, args.batch_size, False, args.steps)
    print(f"float32: {fp32:.2f} s per step")
    mixed = seconds_per_step(config, args.crop, args.batch_size, True, args.steps)
    print(f"mixed precision (bfloat16): {mixed:.2f} s per step ({mixed / fp32:.2f}x float32)")


if __name__ == "__main__":
    main()

"""``python -m licodec.train.export CHECKPOINT OUTPUT NAME [--prior-steps N --prior-cpu-hours H]``: ship a checkpoint's weights.

The weights' metadata counts the whole lineage. A run started with ``--init-weights``
recorded the training behind those weights; ``--prior-*`` overrides it, for runs
whose starting weights did not carry their lineage.
"""

import argparse
import pickle
from pathlib import Path

from licodec.train.loop import Lineage, export_checkpoint


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m licodec.train.export", description=__doc__.split("\n\n")[1])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("output", type=Path, help="the .safetensors file to write")
    parser.add_argument("name", help="the model's registry name, stored in the file")
    parser.add_argument("--prior-steps", type=int, help="training steps before this run")
    parser.add_argument("--prior-cpu-hours", type=float, help="CPU-hours before this run")
    args = parser.parse_args(argv)
    if (args.prior_steps is None) != (args.prior_cpu_hours is None):
        parser.error("give --prior-steps and --prior-cpu-hours together")
    prior = Lineage(args.prior_steps, args.prior_cpu_hours) if args.prior_steps is not None else None
    if not args.checkpoint.is_file():
        parser.error(f"{args.checkpoint}: no such checkpoint")
    try:
        print(export_checkpoint(args.checkpoint, args.output, args.name, prior))
    except (OSError, RuntimeError, KeyError, pickle.UnpicklingError) as exc:
        parser.exit(1, f"export: {args.checkpoint} is not a licodec training checkpoint ({exc})\n")


if __name__ == "__main__":
    main()

"""``python -m licodec.train.export CHECKPOINT OUTPUT NAME``: ship a checkpoint's weights."""

import sys
from pathlib import Path

from licodec.train.loop import export_checkpoint

if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: python -m licodec.train.export CHECKPOINT OUTPUT.safetensors NAME")
    print(export_checkpoint(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]))

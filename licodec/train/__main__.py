"""``python -m licodec.train`` (what ``torchrun`` launches): the same command as ``licodec train``."""

import sys

from licodec.cli import main

sys.exit(main(["train", *sys.argv[1:]]))

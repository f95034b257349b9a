"""``python -m licodec`` (what ``torchrun -m licodec train model ...`` launches): the same as the ``licodec`` command."""

import sys

from licodec.cli import main

sys.exit(main())

"""``python -m licodec.cli``: the same as the ``licodec`` command."""

import sys

from licodec.cli import main

sys.exit(main())

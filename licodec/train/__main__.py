import argparse
import sys

from licodec.train.cli import add_arguments, run

parser = argparse.ArgumentParser(prog="python -m licodec.train", description="Train a licodec model.")
add_arguments(parser)
sys.exit(run(parser.parse_args()))

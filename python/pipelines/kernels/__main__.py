"""`python -m pipelines.kernels <command> --args-json '{...}'` (the commands are declared in pipelines/kernels/commands.py)."""
import sys

from .commands import COMMANDS, SWAP_ARGUMENTS, main

__all__ = ["COMMANDS", "SWAP_ARGUMENTS", "main"]

if __name__ == "__main__":
    sys.exit(main())

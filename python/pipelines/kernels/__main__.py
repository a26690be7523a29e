"""`python -m pipelines.kernels <command> --args-json '{...}'` (commands: pipelines/kernels/commands.py)."""
import sys

from .commands import main

if __name__ == "__main__":
    sys.exit(main())

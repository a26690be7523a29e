"""Entry point of `python -m kernelevolve_runtime`."""
import sys

from .cli import main

sys.exit(main())

"""Entry point of `python -m pipelines.aovift`."""
import sys

from .cli import main

sys.exit(main())

"""`python -m kernelevolve_runtime.kernelbench import --path DIR [--level N] [--problems 1-20] [--scale auto|none|F]`: one JSON line per problem."""
import argparse
import json
import sys

from . import scaling
from .importer import import_folder, parse_problem_range, parse_scale


def main(argv=None):
    """Prints {file, number, ok, spec | reason, error} for each problem file, one JSON object per line."""
    parser = argparse.ArgumentParser(prog="python -m kernelevolve_runtime.kernelbench", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    importing = commands.add_parser("import", help="import KernelBench-format problem files as specs")
    importing.add_argument("--path", required=True, help="a KernelBench checkout or a folder of problem files")
    importing.add_argument("--level", type=int, help="level number: reads <path>/level<N> or <path>/KernelBench/level<N>")
    importing.add_argument("--problems", help="problem numbers, e.g. 1-20,25 (default: all)")
    importing.add_argument("--scale", default="auto", help="auto (fit this machine), none (full size) or a factor in (0, 1] of the full bytes")
    importing.add_argument("--memory-mb", type=float, default=scaling.AUTO_MEMORY_BYTES / 2**20, help="auto: budget for inputs+outputs+weights")
    importing.add_argument("--gflops", type=float, default=scaling.AUTO_FLOPS / 1e9, help="auto: budget of work per reference call")
    arguments = parser.parse_args(argv)
    try:
        scale = parse_scale(arguments.scale)
        problems = parse_problem_range(arguments.problems)
        records = import_folder(arguments.path, arguments.level, problems, scale, int(arguments.memory_mb * 2**20), arguments.gflops * 1e9)
        for record in records:
            sys.stdout.write(json.dumps(record) + "\n")
            sys.stdout.flush()
    except (ValueError, FileNotFoundError) as error:
        sys.stderr.write(f"error: {error}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

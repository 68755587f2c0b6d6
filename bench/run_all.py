"""Run every benchmark in this folder, one after another (``make bench``).

Each benchmark prints its figures and the same-run reference they are measured against; the
figures in docs/performance.md come from these scripts.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmarks() -> list[Path]:
    return [
        script
        for script in sorted(HERE.glob("*.py"))
        if not script.name.startswith("_") and script.name != Path(__file__).name
    ]


def main() -> int:
    names = [script.stem for script in benchmarks()]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "only", nargs="*", metavar="NAME", help=f"run only these: {', '.join(names)}"
    )
    args = parser.parse_args()
    unknown = set(args.only) - set(names)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    failed = []
    for script in benchmarks():
        if args.only and script.stem not in args.only:
            continue
        print(f"== {script.name}", flush=True)
        if subprocess.call([sys.executable, str(script)]) != 0:
            failed.append(script.name)
    if failed:
        print("failed or missed a target:", ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

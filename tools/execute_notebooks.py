"""Re-execute notebooks in place, top to bottom, so their committed outputs are those of the current code.

Usage: .venv/bin/python tools/execute_notebooks.py chapters/01_rnn_basics.ipynb [more.ipynb ...]

Each notebook runs in a fresh ``python3`` kernel whose working directory is the notebook's folder
(as under nbval), with ``PYTHONHASHSEED=0`` (the notebooks seed everything else themselves) and
without ``MPLBACKEND`` (with Agg, inline figures silently vanish). The result is written to a
temporary file that replaces the notebook only when every cell ran: a notebook whose execution
fails is left untouched, and the command exits with status 1 after trying the others.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError

KERNEL_NAME = "python3"
KERNELSPEC = {"name": KERNEL_NAME, "display_name": "Python 3 (ipykernel)", "language": "python"}


def set_kernel_environment():
    """The environment every notebook kernel starts with (kernels inherit this process's)."""
    os.environ["PYTHONHASHSEED"] = "0"
    # No progress bars in committed outputs: as widgets they would make the book load scripts
    # from a CDN, and as text they are noise (rnnlib.train.fit reads this).
    os.environ["RNNLIB_PROGRESS"] = "0"
    # With Agg, inline figures silently vanish.
    os.environ.pop("MPLBACKEND", None)
    # The committed outputs are those of the seeds written in the notebooks (RNNLIB_SEED unset).
    os.environ.pop("RNNLIB_SEED", None)


def execute_notebook(path, timeout):
    """Execute the notebook at ``path`` and overwrite it atomically; return the seconds it took."""
    path = Path(path).resolve()
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(path.parent)}},
        # Per-cell timestamps would change every run and bloat the diffs.
        record_timing=False,
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    nbformat.validate(nb)
    fd, tmp = tempfile.mkstemp(suffix=".ipynb", prefix=f".{path.stem}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            nbformat.write(nb, handle)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to execute in place")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds allowed per cell (default 1200)")
    args = parser.parse_args(argv)
    if not args.notebooks:
        print("execute_notebooks: no notebooks given, nothing to do")
        return 0
    missing = [str(p) for p in args.notebooks if not p.is_file() or p.suffix != ".ipynb"]
    if missing:
        parser.error(f"not notebook files: {', '.join(missing)}")

    set_kernel_environment()

    failed = []
    total = 0.0
    for path in args.notebooks:
        print(f"executing {path} ...", flush=True)
        try:
            seconds = execute_notebook(path, args.timeout)
        except (CellExecutionError, DeadKernelError, TimeoutError) as err:
            print(f"FAILED {path}: left unchanged\n{err}", file=sys.stderr, flush=True)
            failed.append(str(path))
            continue
        total += seconds
        print(f"{seconds:8.1f} s  {path}", flush=True)
    print(f"{total:8.1f} s  total for {len(args.notebooks) - len(failed)} notebook(s)")
    if failed:
        print(f"execution failed, notebooks left unchanged: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

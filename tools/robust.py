"""Execute chapters under other seeds and another CPU instruction set; print every stated figure.

Usage: .venv/bin/python tools/robust.py [chapters/X.ipynb ...] [--settings seed1,seed2,other-cpu] [--jobs 2]
       make robust                      (every chapter, every setting)

The book's committed outputs come from one run: the seeds written in the notebooks, on one CPU.
A result counts only if it holds on any machine and under any seed, so this script runs each
notebook top to bottom once per setting, with its asserts on and without comparing outputs:

  seed1, seed2  ``RNNLIB_SEED=1`` / ``=2``: every ``rnnlib.seed_everything(seed)`` is mixed with
                that family, so data, initial weights and batch order all change.
  other-cpu     the machine's vector units masked down to SSE4.2, as on an x86-64 CPU without
                AVX (a Nehalem-class or a small cloud CPU): torch's own kernels
                (ATEN_CPU_CAPABILITY=default), MKL and oneDNN inside torch, OpenBLAS and
                NumPy's loops all take other code paths, with other summation orders and no FMA.
                Float results then differ in their last bits, and training drifts from there.

Every chapter runs on one torch thread, so two runs go side by side (``--jobs``, default 2, as
``make test`` runs two notebooks at a time): that also checks that no assert depends on having
the machine to itself. Each run is a separate process with its own environment.

For each chapter it prints the value of every glued figure (myst-nb ``glue``) and of every
number stated in the prose with ``{eval}`` in the committed notebook and under every setting, and the first failing cell with its error. The notebooks on
disk are never changed. The same table is written to ``_build/robust/report.md``. Exit status 1
when any notebook failed under any setting.
"""

import argparse
import concurrent.futures
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient.exceptions import CellExecutionError, DeadKernelError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execute_notebooks import EXPRESSIONS_KEY, KERNEL_NAME, LabNotebookClient, set_kernel_environment  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "_build" / "robust" / "report.md"

OTHER_CPU = {
    "ATEN_CPU_CAPABILITY": "default",
    "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
    "OPENBLAS_CORETYPE": "Nehalem",
    "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",
}
SETTINGS = {
    "seed1": {"RNNLIB_SEED": "1"},
    "seed2": {"RNNLIB_SEED": "2"},
    "other-cpu": OTHER_CPU,
}
GLUE_MIME = "application/papermill.record/text/plain"


def glued_figures(nb):
    """{name: text} of every value glued (or stated with {eval}) in an executed notebook, in order."""
    figures = {}
    for index, cell in enumerate(nb.cells):
        for item in cell.get("metadata", {}).get(EXPRESSIONS_KEY, []):
            if "text/plain" in item["result"].get("data", {}):
                figures[f"{index}: {item['expression']}"] = item["result"]["data"]["text/plain"]
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name is not None and GLUE_MIME in output.get("data", {}):
                figures[name] = output["data"][GLUE_MIME]
    return figures


def first_error(nb):
    """The first cell of an executed notebook that holds an error output, as 'cell i: Name: message'."""
    for index, cell in enumerate(nb.cells):
        if "raises-exception" in cell.get("metadata", {}).get("tags", []):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return f"cell {index}: {output.get('ename')}: {output.get('evalue')}"
    return None


def run(path, environment, timeout):
    """Execute a copy of the notebook under ``environment``; return (figures, error or None, seconds)."""
    nb = nbformat.read(path, as_version=4)
    saved = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)  # the kernel inherits this process's environment
    client = LabNotebookClient(nb, timeout=timeout, kernel_name=KERNEL_NAME,
                            resources={"metadata": {"path": str(path.parent)}}, record_timing=False)
    start = time.perf_counter()
    error = None
    try:
        client.execute()
    except (CellExecutionError, DeadKernelError, TimeoutError) as err:
        error = first_error(nb) or f"{type(err).__name__}: {str(err).strip().splitlines()[-1]}"
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return glued_figures(nb), error, time.perf_counter() - start


def short(text, width=14):
    text = str(text).strip().strip("'\"")
    return text if len(text) <= width else text[: width - 1] + "…"


def table(path, committed, results):
    """A Markdown table: one row per glued figure, one column per setting."""
    names = list(committed) + [n for r in results.values() for n in r[0] if n not in committed]
    names = list(dict.fromkeys(names))
    header = ["figure", "committed"] + list(results)
    lines = [f"### {path.name}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name in names:
        row = [name, short(committed.get(name, "-"))] + [short(r[0].get(name, "-")) for r in results.values()]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("| **status** | committed | " + " | ".join(
        ("ok" if r[1] is None else f"FAILED {r[1]}") + f" ({r[2]:.0f} s)" for r in results.values()) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: every chapter)")
    parser.add_argument("--settings", default=",".join(SETTINGS),
                        help=f"comma-separated settings among {', '.join(SETTINGS)} (default: all)")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds allowed per cell (default 1200)")
    parser.add_argument("--jobs", type=int, default=2, help="notebook runs side by side (default 2)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be a whole number >= 1, got {args.jobs}")
    notebooks = [p.resolve() for p in args.notebooks] or sorted((ROOT / "chapters").glob("*.ipynb"))
    settings = [s.strip() for s in args.settings.split(",") if s.strip()]
    unknown = [s for s in settings if s not in SETTINGS]
    if unknown or not settings:
        parser.error(f"--settings must name some of {', '.join(SETTINGS)}, got {args.settings!r}")
    missing = [str(p) for p in notebooks if not p.is_file() or p.suffix != ".ipynb"]
    if missing:
        parser.error(f"not notebook files: {', '.join(missing)}")

    set_kernel_environment()
    runs = [(path, setting) for path in notebooks for setting in settings]
    print(f"{len(runs)} runs, {args.jobs} at a time", flush=True)
    # one process per run: run() sets the environment its kernel inherits
    done = {}
    with concurrent.futures.ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(run, path, SETTINGS[setting], args.timeout): (path, setting) for path, setting in runs}
        for future in concurrent.futures.as_completed(futures):
            path, setting = futures[future]
            done[path, setting] = future.result()  # (figures, error or None, seconds)
            error, seconds = done[path, setting][1:]
            print(f"  {path.name} under {setting}: {'ok' if error is None else 'FAILED ' + error} ({seconds:.0f} s)",
                  flush=True)
    report, failures = [], []
    for path in notebooks:
        committed = glued_figures(nbformat.read(path, as_version=4))
        results = {setting: done[path, setting] for setting in settings}
        failures += [f"{path.name} under {setting}: {error}" for setting, (_, error, _) in results.items()
                     if error is not None]
        section = table(path, committed, results)
        print("\n" + section, flush=True)
        report.append(section)

    REPORT.parent.mkdir(parents=True, exist_ok=True)
    settings_text = "\n".join(f"- `{s}`: " + " ".join(f"{k}={v}" for k, v in SETTINGS[s].items()) for s in settings)
    REPORT.write_text("# make robust\n\n" + settings_text + "\n\n" + "\n".join(report))
    print(f"report written to {os.path.relpath(REPORT, ROOT)}")
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    print(f"every notebook ran with its asserts under {', '.join(settings)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

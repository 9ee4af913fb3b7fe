"""The compiled LSTM time loop (``csrc/lstm_loop.cpp``): build it, load it, say whether it is used.

:mod:`rnnlib.nn.fast`'s LSTM runs its time loop in Python unless this library is built; built, the
loop runs compiled, with the same equations: per step, one fused vectorised pass over the gates
instead of ~10 torch operations, and the product ``h_{t-1} W_hh^T`` by oneDNN's small-matrix kernel
(brgemm) instead of a BLAS call. ``make bench`` prints both loops beside torch.nn (about 1.1x and
1.6x torch.nn's time at (N, T, D, H) = (32, 64, 28, 256) on a 2-core x86-64 laptop). It is an
optimisation only: without a C++ compiler everything works, more slowly.

Build it with ``python -m rnnlib.nn.build`` (``make venv`` does; about 15 s). The library is
built for the installed torch (its name carries torch's version and a hash of the source, so a
changed source or a new torch is never loaded stale) and lands in ``csrc/build/``.

It is not used (the Python loop is) when:

* it is not built: building needs a C++ compiler with OpenMP (g++ on Linux; built and tested
  on x86-64 Linux with g++ 12 and torch 2.13);
* ``RNNLIB_COMPILED=0`` is set in the environment, or inside ``with python_loop():``;
* ``ATEN_CPU_CAPABILITY`` is set: torch is asked to use the kernels of a smaller CPU (``make
  robust`` does this), which the compiled loop, vectorised for this CPU, would not honour;
* the tensors are not float32/float64 CPU tensors (CUDA, bfloat16 under autocast);
* a ``TorchDispatchMode`` is active (torch's FLOP counter, :func:`rnnlib.bptt.peak_memory`): the
  Python loop runs op by op, so the mode sees every product and every allocation, as it does in
  torch.nn's LSTM, which also leaves its fused CPU kernel under such a mode.
"""

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
import torch.utils.cpp_extension
from torch.utils._python_dispatch import _get_current_dispatch_mode

__all__ = ["library_path", "build", "lstm_loop_available", "status", "python_loop"]

SOURCE = Path(__file__).with_name("csrc") / "lstm_loop.cpp"
BUILD_DIR = SOURCE.parent / "build"

_loaded = None  # None: not tried yet; else the reason it is unavailable, or "" when loaded
_forced_python = False


def library_path():
    """Where the library for this source and this torch lives (it may not exist yet)."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]
    torch_tag = torch.__version__.replace("+", "_")
    suffix = ".dylib" if sys.platform == "darwin" else ".so"
    return BUILD_DIR / f"lstm_loop-{digest}-torch{torch_tag}{suffix}"


def _compiler():
    """The C++ compiler to build with: $CXX if set, else the first of c++, g++, clang++ on PATH."""
    if os.environ.get("CXX"):
        found = shutil.which(os.environ["CXX"])
        if found is None:
            raise RuntimeError(f"CXX={os.environ['CXX']!r} is set but is not an executable on PATH")
        return found
    return shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")


def _commands(compiler, obj, out):
    """The compile and link commands: compiled with -ffast-math (vectorised exp/tanh) but linked
    without it, because linking a shared library with it would switch the whole process's
    floating point to flush-to-zero."""
    torch_lib = torch.utils.cpp_extension.library_paths()[0]
    includes = [f"-I{path}" for path in torch.utils.cpp_extension.include_paths()]
    abi = f"-D_GLIBCXX_USE_CXX11_ABI={int(torch._C._GLIBCXX_USE_CXX11_ABI)}"
    # -fopenmp: at::parallel_for splits a step's rows between torch's (OpenMP) threads
    compile_cmd = [compiler, "-O3", "-ffast-math", "-fopenmp", "-std=c++20", "-fPIC", "-w", abi, *includes,
                   "-c", str(SOURCE), "-o", str(obj)]
    link_cmd = [compiler, "-shared", str(obj), "-o", str(out), f"-L{torch_lib}", "-ltorch_cpu", "-lc10",
                # the OpenMP runtime torch itself loaded (same soname), not a second one
                "-fopenmp", f"-Wl,-rpath,{torch_lib}"]
    return compile_cmd, link_cmd


def build(verbose=True):
    """Compile ``csrc/lstm_loop.cpp`` for the installed torch; returns the library's path.

    Written to a temporary file first and renamed into place, so a failed or interrupted build
    never leaves a half-written library. Raises RuntimeError if no compiler is found or the
    build fails (with the command and the compiler's message).
    """
    target = library_path()
    if target.exists():
        if verbose:
            print(f"rnnlib: compiled LSTM loop already built: {target}")
        return target
    compiler = _compiler()
    if compiler is None:
        raise RuntimeError("no C++ compiler found (looked for $CXX, c++, g++, clang++)")
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=BUILD_DIR) as tmp:
        obj, out = Path(tmp) / "lstm_loop.o", Path(tmp) / target.name
        for command in _commands(compiler, obj, out):
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"building the compiled LSTM loop failed:\n{' '.join(command)}\n{done.stderr}")
        os.replace(out, target)
    for stale in BUILD_DIR.glob("lstm_loop-*"):  # libraries of older sources or torch versions
        if stale != target:
            stale.unlink(missing_ok=True)
    if verbose:
        print(f"rnnlib: built the compiled LSTM loop: {target}")
    return target


def _load():
    """Load the library once; the reason it is not available, or "" when it is."""
    global _loaded
    if _loaded is None:
        if os.environ.get("RNNLIB_COMPILED", "1") == "0":
            _loaded = "RNNLIB_COMPILED=0 is set"
        elif os.environ.get("ATEN_CPU_CAPABILITY"):
            _loaded = f"ATEN_CPU_CAPABILITY={os.environ['ATEN_CPU_CAPABILITY']} is set"
        elif not library_path().exists():
            _loaded = "not built (python -m rnnlib.nn.build builds it)"
        else:
            try:
                torch.ops.load_library(str(library_path()))
                _loaded = ""
            except (OSError, RuntimeError) as error:
                _loaded = f"could not be loaded: {error}"
    return _loaded


def lstm_loop_available(tensor):
    """Whether the compiled loop will run the LSTM on tensors like ``tensor``."""
    return (not _forced_python and tensor.device.type == "cpu" and tensor.dtype in (torch.float32, torch.float64)
            and _get_current_dispatch_mode() is None and _load() == "")


def status():
    """One line for people: which LSTM time loop rnnlib.nn uses on CPU, and why."""
    reason = "inside python_loop()" if _forced_python else _load()
    return "compiled (csrc/lstm_loop.cpp)" if reason == "" else f"Python (compiled loop not used: {reason})"


@contextlib.contextmanager
def python_loop():
    """Run the fast LSTM's time loop in Python inside the block (to compare the two loops)."""
    global _forced_python
    previous, _forced_python = _forced_python, True
    try:
        yield
    finally:
        _forced_python = previous

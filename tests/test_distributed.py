"""rnnlib.train.fit under torchrun: a real two-process DistributedDataParallel run on loopback (gloo)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rnnlib.distributed.char_lm import parse_args

ROOT = Path(__file__).resolve().parents[1]


def _torchrun(tmp_path, nproc, *args):
    report = tmp_path / f"report_{nproc}.json"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONHASHSEED="0")
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
        "-m", "rnnlib.distributed.char_lm", "--report", str(report), *args,
    ]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(report.read_text())


def test_two_cpu_processes_keep_identical_parameters_and_learn(tmp_path):
    small = ["--steps", "20", "--lr", "0.01", "--chars", "20000", "--hidden-size", "32", "--batch-size", "16", "--seq-len", "32"]
    report = _torchrun(tmp_path, 2, *small)
    assert report["world_size"] == 2 and report["backend"] == "gloo"
    assert report["steps"] == 20
    # Each rank saw a different shard; only DDP's gradient averaging keeps the replicas equal.
    assert report["max_param_diff_across_ranks"] == 0.0
    assert report["last_loss"] < report["first_loss"] - 0.3
    # 20 steps of 16 windows of 32 characters per rank (an epoch's last batch may be smaller)
    assert 0.9 * 2 * 20 * 16 * 32 <= report["tokens"] <= 2 * 20 * 16 * 32


def test_bad_command_line_arguments_are_rejected_with_the_flag_named(capsys):
    with pytest.raises(SystemExit):
        parse_args(["--steps", "0"])
    assert "--steps must be >= 1, got 0" in capsys.readouterr().err

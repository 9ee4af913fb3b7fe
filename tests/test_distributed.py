"""rnnlib.train.fit under torchrun: a real two-process DistributedDataParallel run on loopback (gloo)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rnnlib.distributed.char_lm import parse_args, steps_to_target

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
    small = ["--steps", "20", "--optimizer", "adam", "--lr", "0.01", "--chars", "20000", "--hidden-size", "32",
             "--batch-size", "16", "--seq-len", "32"]
    report = _torchrun(tmp_path, 2, *small)
    assert report["world_size"] == 2 and report["backend"] == "gloo"
    assert report["steps"] == 20 and report["steps_to_target"] is None
    # Each rank saw a different shard; only DDP's gradient averaging keeps the replicas equal.
    assert report["max_param_diff_across_ranks"] == 0.0
    assert report["last_loss"] < report["first_loss"] - 0.3
    # 20 steps of 16 windows of 32 characters per rank (an epoch's last batch may be smaller)
    assert 0.9 * 2 * 20 * 16 * 32 <= report["tokens"] <= 2 * 20 * 16 * 32


@pytest.mark.parametrize("argv, message", [
    (["--steps", "0"], "--steps must be >= 1, got 0"),
    (["--lr", "nan"], "--lr must be a positive number, got nan"),
    (["--momentum", "1"], "--momentum must be in [0, 1), got 1.0"),
    (["--warmup-steps", "-1"], "--warmup-steps must be >= 0, got -1"),
    (["--target-loss", "-2"], "--target-loss must be a positive number, got -2.0"),
    (["--eval-every", "0"], "--eval-every must be >= 1, got 0"),
])
def test_bad_command_line_arguments_are_rejected_with_the_flag_named(capsys, argv, message):
    with pytest.raises(SystemExit):
        parse_args(argv)
    assert message in capsys.readouterr().err


def test_two_processes_stop_together_at_the_target_loss_with_sgd_and_warm_up(tmp_path):
    small = ["--steps", "200", "--optimizer", "sgd", "--lr", "1.0", "--warmup-steps", "5", "--chars", "20000",
             "--hidden-size", "32", "--batch-size", "8", "--seq-len", "32", "--eval-every", "5",
             "--val-windows", "8", "--target-loss", "3.2"]
    report = _torchrun(tmp_path, 2, *small)
    # both ranks stopped after the same update (otherwise the run would hang in an all-reduce)
    assert report["steps"] < 200 and report["steps"] % 5 == 0
    assert report["val_steps"][-1] == report["steps"] and report["val_loss"][-1] <= 3.2 < report["val_loss"][-2]
    assert report["steps"] - 5 < report["steps_to_target"] <= report["steps"]
    assert report["chars_to_target"] == report["steps_to_target"] * 2 * 8 * 32
    assert 0 < report["seconds_to_target"] <= report["seconds"]
    assert 0 < report["cpu_seconds_to_target"] <= report["cpu_seconds"]
    assert report["max_param_diff_across_ranks"] == 0.0
    assert len(report["train_loss"]) == report["steps"]


def test_steps_to_target_interpolates_the_first_crossing():
    # straight line from (10, 2.5) to (20, 1.5) crosses 2.0 at 15
    assert steps_to_target([0, 10, 20, 30], [3.0, 2.5, 1.5, 1.0], 2.0) == 15.0
    assert steps_to_target([0, 10, 20], [3.0, 2.5, 2.1], 2.0) is None
    assert steps_to_target([0, 10], [1.0, 0.5], 2.0) == 0.0  # already there at the first measurement
    # the first crossing counts, not a later one
    assert steps_to_target([0, 10, 20, 30], [3.0, 1.0, 2.5, 1.0], 2.0) == 5.0
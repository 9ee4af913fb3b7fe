"""Train the Shakespeare character model on one process or several, with the same code.

Run it on one process::

    python -m rnnlib.distributed.char_lm --steps 400 --report run.json

or on K processes with PyTorch's launcher (DistributedDataParallel, ``gloo`` on CPUs, ``nccl``
on GPUs; :func:`rnnlib.train.fit` detects the process group from the environment)::

    torchrun --standalone --nproc_per_node=K -m rnnlib.distributed.char_lm --steps 400 --report run.json

Each process trains on its own shard of the windows (a ``DistributedSampler``), with its own
batch of ``--batch-size`` windows, so one update reads K times as many characters (weak scaling).
The optimizer is SGD with momentum (or Adam), its learning rate warmed up linearly over
``--warmup-steps`` updates. Every ``--eval-every`` updates each process measures the loss on the
same ``--val-windows`` held-out windows; with ``--target-loss`` the run stops once that loss is
reached. Rank 0 writes a JSON report: the losses (each update's loss averaged over the ranks), the
updates, characters, wall-clock and CPU seconds needed to reach the target, the throughput, and
the largest difference between the parameters held by different ranks (0 when DDP kept the
replicas in step).
"""

import argparse
import json
import math
import os
import tempfile
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F

from rnnlib.data.text import char_lm_data, load_shakespeare
from rnnlib.device import seed_everything
from rnnlib.nn.models import CharLM
from rnnlib.train import evaluate, fit

__all__ = ["main", "parse_args", "char_lm_loss", "steps_to_target"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--play", default="hamlet", help="play to train on (rnnlib.data.shakespeare_play_names())")
    parser.add_argument("--chars", type=int, default=100_000, help="characters of the play to use")
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32, help="windows per process and update")
    parser.add_argument("--hidden-size", type=int, default=128)
    parser.add_argument("--cell", default="lstm", choices=["rnn", "lstm", "gru"])
    parser.add_argument("--steps", type=int, default=40, help="most updates to run")
    parser.add_argument("--optimizer", default="sgd", choices=["sgd", "adam"])
    parser.add_argument("--lr", type=float, default=1.0, help="learning rate after the warm-up")
    parser.add_argument("--momentum", type=float, default=0.9, help="SGD's momentum")
    parser.add_argument("--warmup-steps", type=int, default=0, help="updates over which the rate grows linearly to --lr")
    parser.add_argument("--eval-every", type=int, default=10, help="updates between two held-out losses")
    parser.add_argument("--val-windows", type=int, default=64, help="held-out windows the loss is measured on")
    parser.add_argument("--target-loss", type=float, default=None, help="stop once the held-out loss is this low")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", default=None, help="JSON file rank 0 writes the results to")
    args = parser.parse_args(argv)
    for name in ("chars", "seq_len", "batch_size", "hidden_size", "steps", "threads", "eval_every", "val_windows"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.warmup_steps < 0:
        parser.error(f"--warmup-steps must be >= 0, got {args.warmup_steps}")
    if not (math.isfinite(args.lr) and args.lr > 0):
        parser.error(f"--lr must be a positive number, got {args.lr}")
    if not 0 <= args.momentum < 1:
        parser.error(f"--momentum must be in [0, 1), got {args.momentum}")
    if args.target_loss is not None and not (math.isfinite(args.target_loss) and args.target_loss > 0):
        parser.error(f"--target-loss must be a positive number, got {args.target_loss}")
    return args


def char_lm_loss(model, batch):
    """Mean next-character cross-entropy of a batch ``(x (N, T), y (N, T))``."""
    x, y = batch
    logits, _ = model(x)
    return F.cross_entropy(logits.flatten(0, 1), y.flatten())


def steps_to_target(steps, losses, target):
    """First crossing of ``target`` by a loss curve measured at ``steps``, interpolated linearly.

    Returns the (fractional) step at which the straight line between the last measurement above
    ``target`` and the first one at or below it crosses ``target``; ``None`` if no measurement reaches it.
    """
    previous = None
    for step, loss in zip(steps, losses):
        if loss <= target:
            if previous is None or previous[1] <= loss:
                return float(step)
            (s0, l0) = previous
            return s0 + (step - s0) * (l0 - target) / (l0 - loss)
        previous = (step, loss)
    return None


def _write_json_atomically(path, payload):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(payload, f, indent=2)
    os.replace(tmp, path)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    text = load_shakespeare([args.play])[: args.chars]
    train, val, vocab = char_lm_data(text, args.seq_len)
    val_batch = tuple(torch.stack(t) for t in zip(*(val[i] for i in range(min(args.val_windows, len(val))))))
    seed_everything(args.seed)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    model = CharLM(len(vocab), args.hidden_size, cell=args.cell, embedding_dim=32)
    if args.optimizer == "sgd":
        optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    # linear warm-up: the rate of update s (0-based) is lr * min(1, (s + 1) / warmup_steps)
    warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / max(1, args.warmup_steps)))
    cpu_seconds, val_steps, val_losses = [], [0], [evaluate(model, [val_batch], char_lm_loss)]
    cpu_start = time.process_time()

    def on_step(step, loss, model):
        warmup.step()
        cpu_seconds.append(time.process_time() - cpu_start)
        if step % args.eval_every != 0:
            return False
        val_steps.append(step)
        val_losses.append(evaluate(model, [val_batch], char_lm_loss))
        if args.target_loss is None:
            return False
        # every rank holds the same parameters, hence the same loss; rank 0's verdict makes sure that all
        # ranks stop after the same update (a rank that stopped alone would leave the others waiting)
        reached = torch.tensor([float(val_losses[-1] <= args.target_loss)])
        if dist.is_available() and dist.is_initialized():
            dist.broadcast(reached, src=0)
        return bool(reached.item())

    history = fit(
        model, train, char_lm_loss, optimizer=optimizer, epochs=1_000, max_steps=args.steps,
        batch_size=args.batch_size, progress=False, seed=args.seed, on_step=on_step,
    )

    distributed = dist.is_available() and dist.is_initialized()
    rank = dist.get_rank() if distributed else 0
    world_size = dist.get_world_size() if distributed else 1
    params = torch.nn.utils.parameters_to_vector(model.parameters()).detach().cpu()
    train_loss = torch.tensor(history.train_loss, dtype=torch.float64)
    cpu = torch.tensor(cpu_seconds, dtype=torch.float64)
    wall = torch.tensor(history.seconds, dtype=torch.float64)
    examples = torch.tensor([float(history.examples)], dtype=torch.float64)
    max_param_diff = 0.0
    if distributed:
        replicas = [torch.zeros_like(params) for _ in range(world_size)]
        dist.all_gather(replicas, params)
        max_param_diff = max(float((r - replicas[0]).abs().max()) for r in replicas)
        for total in (train_loss, cpu, examples):  # summed over the ranks
            dist.all_reduce(total, op=dist.ReduceOp.SUM)
        train_loss /= world_size  # each update's loss over the whole global batch
        dist.all_reduce(wall, op=dist.ReduceOp.MAX)  # the slowest rank
    chars_per_step = args.batch_size * args.seq_len * world_size  # an update of full batches
    target_step = None if args.target_loss is None else steps_to_target(val_steps, val_losses, args.target_loss)

    def at_target(per_update):
        # a per-update series (value after update 1, 2, ...) at the fractional update target_step
        return None if target_step is None else float(np.interp(target_step, history.step, per_update.numpy()))

    report = {
        "world_size": world_size,
        "backend": dist.get_backend() if distributed else None,
        "optimizer": args.optimizer,
        "lr": args.lr,
        "warmup_steps": args.warmup_steps,
        "steps": len(history.step),
        "threads_per_process": args.threads,
        "batch_size_per_process": args.batch_size,
        "seq_len": args.seq_len,
        "chars_per_step": chars_per_step,
        "train_loss": train_loss.tolist(),
        "val_steps": val_steps,
        "val_loss": val_losses,
        "first_loss": float(train_loss[0]),
        "last_loss": float(train_loss[-5:].mean()),
        "target_loss": args.target_loss,
        "steps_to_target": target_step,
        "chars_to_target": None if target_step is None else target_step * chars_per_step,
        "seconds_to_target": at_target(wall),
        "cpu_seconds_to_target": at_target(cpu),
        "seconds": float(wall[-1]),
        "cpu_seconds": float(cpu[-1]),
        "tokens": float(examples) * args.seq_len,
        "tokens_per_second": float(examples) * args.seq_len / float(wall[-1]),
        "max_param_diff_across_ranks": max_param_diff,
        "n_parameters": int(params.numel()),
    }
    if rank == 0:
        print(
            f"world_size={world_size} lr={args.lr:g} steps={report['steps']} loss {report['first_loss']:.3f} -> "
            f"{report['last_loss']:.3f} held-out {val_losses[-1]:.3f} "
            f"steps_to_target={'-' if target_step is None else f'{target_step:.1f}'} "
            f"tokens/s={report['tokens_per_second']:.0f} max_param_diff={max_param_diff:.3g}"
        )
        if args.report:
            _write_json_atomically(args.report, report)
    if distributed:
        dist.destroy_process_group()
    return report


if __name__ == "__main__":
    main()

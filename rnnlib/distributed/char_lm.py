"""Train the Shakespeare character model on one process or several, with the same code.

Run it on one process::

    python -m rnnlib.distributed.char_lm --steps 40 --report run.json

or on K processes with PyTorch's launcher (DistributedDataParallel, ``gloo`` on CPUs, ``nccl``
on GPUs; :func:`rnnlib.train.fit` detects the process group from the environment)::

    torchrun --standalone --nproc_per_node=K -m rnnlib.distributed.char_lm --steps 40 --report run.json

Each process trains on its own shard of the windows (a ``DistributedSampler``), with its own
batch of ``--batch-size`` windows, so one step processes K times as many tokens (weak scaling).
Rank 0 writes a JSON report: losses, throughput, and the largest difference between the
parameters held by different ranks after training (0 when DDP kept the replicas in step).
"""

import argparse
import json
import os
import tempfile

import torch
import torch.distributed as dist
import torch.nn.functional as F

from rnnlib.data.text import char_lm_data, load_shakespeare
from rnnlib.device import seed_everything
from rnnlib.nn.models import CharLM
from rnnlib.train import fit

__all__ = ["main", "parse_args", "char_lm_loss"]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--play", default="hamlet", help="play to train on (rnnlib.data.shakespeare_play_names())")
    parser.add_argument("--chars", type=int, default=100_000, help="characters of the play to use")
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32, help="windows per process and step")
    parser.add_argument("--hidden-size", type=int, default=128)
    parser.add_argument("--cell", default="lstm", choices=["rnn", "lstm", "gru"])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report", default=None, help="JSON file rank 0 writes the results to")
    args = parser.parse_args(argv)
    for name in ("chars", "seq_len", "batch_size", "hidden_size", "steps", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    return args


def char_lm_loss(model, batch):
    """Mean next-character cross-entropy of a batch ``(x (N, T), y (N, T))``."""
    x, y = batch
    logits, _ = model(x)
    return F.cross_entropy(logits.flatten(0, 1), y.flatten())


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
    train, _, vocab = char_lm_data(text, args.seq_len)
    seed_everything(args.seed)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    model = CharLM(len(vocab), args.hidden_size, cell=args.cell, embedding_dim=32)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    history = fit(
        model, train, char_lm_loss, optimizer=optimizer, epochs=1_000, max_steps=args.steps,
        batch_size=args.batch_size, progress=False, seed=args.seed,
    )

    distributed = dist.is_available() and dist.is_initialized()
    rank = dist.get_rank() if distributed else 0
    world_size = dist.get_world_size() if distributed else 1
    params = torch.nn.utils.parameters_to_vector(model.parameters()).detach().cpu()
    counts = torch.tensor([float(history.examples), history.wall_seconds], dtype=torch.float64)
    max_param_diff = 0.0
    if distributed:
        replicas = [torch.zeros_like(params) for _ in range(world_size)]
        dist.all_gather(replicas, params)
        max_param_diff = max(float((r - replicas[0]).abs().max()) for r in replicas)
        examples = counts[:1].clone()
        dist.all_reduce(examples, op=dist.ReduceOp.SUM)
        slowest = counts[1:].clone()
        dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
        counts = torch.cat([examples, slowest])
    examples, seconds = float(counts[0]), float(counts[1])
    report = {
        "world_size": world_size,
        "backend": dist.get_backend() if distributed else None,
        "steps": len(history.step),
        "threads_per_process": args.threads,
        "batch_size_per_process": args.batch_size,
        "seq_len": args.seq_len,
        "train_loss": history.train_loss,
        "first_loss": history.train_loss[0],
        "last_loss": sum(history.train_loss[-5:]) / len(history.train_loss[-5:]),
        "seconds": seconds,
        "tokens": examples * args.seq_len,
        "tokens_per_second": examples * args.seq_len / seconds,
        "max_param_diff_across_ranks": max_param_diff,
        "n_parameters": int(params.numel()),
    }
    if rank == 0:
        print(
            f"world_size={world_size} steps={report['steps']} loss {report['first_loss']:.3f} -> "
            f"{report['last_loss']:.3f} tokens/s={report['tokens_per_second']:.0f} "
            f"max_param_diff={max_param_diff:.3g}"
        )
        if args.report:
            _write_json_atomically(args.report, report)
    if distributed:
        dist.destroy_process_group()
    return report


if __name__ == "__main__":
    main()

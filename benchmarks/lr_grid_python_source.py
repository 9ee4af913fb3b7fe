"""The learning-rate search behind chapter 4's LSTM-against-RNN comparison on Python source.

Chapter 4 trains an LSTM of 128 units and a vanilla RNN of the same parameter count (274 units)
as stateful character models on 1.4 million characters of the standard library, for 500 updates
each, and gives each model the learning rate that was best for it. This script is that search:
every model, every learning rate of the grid, data made as the chapter makes it (``--seed``; the
chapter's own files differ, since its generator draws the adding problem first), its training set-up
(Adam, gradient clipping at 1, 32 streams, truncated BPTT over windows of 100 characters) and its
evaluation (bits per character on 100,000 held-out characters, the heads of the last files, the
state carried across the held-out windows). It prints
one row per run and the best learning rate of each model.

Run ``python benchmarks/lr_grid_python_source.py`` (about 10 CPU-minutes on one thread);
``--updates`` and ``--rates`` change the budget and the grid.
"""

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

import rnnlib
from rnnlib.bptt import TruncatedBPTT, stream_windows
from rnnlib.data import SOURCE_CHARS, CharVocab, load_python_source, split_held_out
from rnnlib.metrics import bits_per_token
from rnnlib.nn.models import CharLM
from rnnlib.train import fit


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=500)
    parser.add_argument("--rates", default="2e-3,3e-3,5e-3,1e-2,2e-2")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)

    # the chapter's data: its corpus, its streams and windows, its held-out files
    rng = rnnlib.seed_everything(args.seed)
    corpus = load_python_source(1_400_000, rng)
    vocab = CharVocab(SOURCE_CHARS)
    train_text, held_out_text, _ = split_held_out(corpus, 100_000, per_file=10_000)
    train_ids, held_out_ids = (torch.from_numpy(vocab.encode(text)) for text in (train_text, held_out_text))
    stream_length, held_out_length = len(train_ids) // 32, len(held_out_ids) // 16
    train = train_ids[: 32 * stream_length].view(32, stream_length)
    held_out = held_out_ids[: 16 * held_out_length].view(16, held_out_length)
    train_windows = stream_windows(train[:, :-1], train[:, 1:], 100)
    held_out_windows = stream_windows(held_out[:, :-1], held_out[:, 1:], 500)

    def held_out_bits(model):
        model.eval()
        loss = TruncatedBPTT(lambda logits, y: F.cross_entropy(logits.transpose(1, 2), y, reduction="none"))
        with torch.no_grad():
            nll = torch.cat([loss(model, batch) for batch in held_out_windows], dim=1)
        return bits_per_token(nll.mean())

    best = {}
    print(f"{'cell':5s} {'units':>5s} {'rate':>7s} {'bits/char':>9s} {'CPU s':>6s}")
    for cell, hidden in [("lstm", 128), ("rnn", 274)]:
        for rate in [float(r) for r in args.rates.split(",")]:
            rnnlib.seed_everything(args.seed)
            model = CharLM(len(vocab), hidden, cell=cell)
            start = time.process_time()
            fit(model, train_windows, TruncatedBPTT(), optimizer=torch.optim.Adam(model.parameters(), lr=rate),
                epochs=100, max_steps=args.updates, clip_grad_norm=1.0, progress=False, seed=args.seed)
            bits = held_out_bits(model)
            print(f"{cell:5s} {hidden:5d} {rate:7.0e} {bits:9.3f} {time.process_time() - start:6.1f}", flush=True)
            if bits < best.get(cell, (None, float("inf")))[1]:
                best[cell] = (rate, bits)
    for cell, (rate, bits) in best.items():
        print(f"best for {cell}: learning rate {rate:.0e} ({bits:.3f} bits per character)")


if __name__ == "__main__":
    main()

"""A generated translation-like task whose difficulty grows with length: reverse a sequence.

The source is a sequence of 5 to 45 symbols (letters), the target is the same symbols in
reverse order::

    source  k c a h f j        target  j f h a c k

Like translation, the output is a sequence of a different length in general (here equal), with
an alignment between output and input positions (here the anti-diagonal), and the information
the decoder needs grows with the input length. An encoder that squeezes the source into one
fixed-size vector must store ``log2(V) * S`` bits; attention lets the decoder read each source
position when it needs it. That is what chapter 6 measures, in the manner of Bahdanau et al.
(2015, Fig. 2).

Token ids: 0 ``<pad>``, 1 ``<bos>``, 2 ``<eos>``, then the symbols. Batches are padded with 0.
Torch is imported only by :class:`Seq2SeqBatches`, so generating pairs needs NumPy alone.
"""

import numbers
import string

import numpy as np

from rnnlib.data.vocab import Vocab
from rnnlib.validate import check_positive_int, check_rng

__all__ = [
    "PAD_ID",
    "BOS_ID",
    "EOS_ID",
    "reversal_pairs",
    "reversal_splits",
    "Seq2SeqBatches",
    "pad_sequences",
]

PAD_ID, BOS_ID, EOS_ID = Vocab.PAD, Vocab.BOS, Vocab.EOS
_SYMBOLS = string.ascii_lowercase + string.ascii_uppercase


def reversal_pairs(n, rng, min_len=5, max_len=45, num_symbols=20):
    """``n`` (source, target) pairs of token lists; the target is the source reversed.

    Lengths are drawn uniformly from ``[min_len, max_len]``, symbols uniformly from the first
    ``num_symbols`` letters. Returns ``(pairs, vocab)``.
    """
    check_positive_int("n", n)
    check_positive_int("min_len", min_len)
    check_positive_int("max_len", max_len)
    check_positive_int("num_symbols", num_symbols)
    if max_len < min_len:
        raise ValueError(f"max_len must be >= min_len = {min_len}, got {max_len}")
    if num_symbols > len(_SYMBOLS):
        raise ValueError(f"num_symbols must be <= {len(_SYMBOLS)}, got {num_symbols}")
    rng = check_rng(rng)
    symbols = list(_SYMBOLS[:num_symbols])
    lengths = rng.integers(min_len, max_len + 1, size=n)
    pairs = []
    for length in lengths:
        source = [symbols[k] for k in rng.integers(0, num_symbols, size=length)]
        pairs.append((source, source[::-1]))
    return pairs, Vocab(symbols)


def reversal_splits(n_train, n_val, n_test, rng=0, min_len=5, max_len=45, num_symbols=20):
    """Seeded, disjoint train/validation/test splits of :func:`reversal_pairs`.

    ``rng``: a ``numpy.random.Generator`` or an int seed. A source that occurs in an earlier split
    is dropped from the later ones, so test accuracy never rewards memorisation; a split left
    empty by that is an error (too few distinct sources: raise ``max_len`` or ``num_symbols``).
    Returns ``({"train": [...], "val": [...], "test": [...]}, vocab)``.
    """
    sizes = {"train": check_positive_int("n_train", n_train), "val": check_positive_int("n_val", n_val),
             "test": check_positive_int("n_test", n_test)}
    rng = check_rng(rng)
    splits, seen = {}, set()
    for name, n in sizes.items():
        pairs, vocab = reversal_pairs(n, rng, min_len, max_len, num_symbols)
        kept = [p for p in pairs if tuple(p[0]) not in seen]
        if not kept:
            raise ValueError(
                f"n_{name}={n} pairs were drawn, but every source already occurs in an earlier split: sources of "
                f"{min_len}..{max_len} tokens over {num_symbols} symbols are too few; raise max_len or num_symbols"
            )
        seen.update(tuple(p[0]) for p in kept)
        splits[name] = kept
    return splits, vocab


def pad_sequences(sequences, pad_id=PAD_ID):
    """Right-pad lists of ids into an int64 array (N, T_max); returns ``(array, lengths (N,))``."""
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    if len(sequences) == 0 or lengths.min() == 0:
        raise ValueError(f"sequences must be a non-empty list of non-empty sequences, got lengths {lengths.tolist()}")
    out = np.full((len(sequences), int(lengths.max())), pad_id, dtype=np.int64)
    for row, seq in zip(out, sequences):
        row[: len(seq)] = seq
    return out, lengths


class Seq2SeqBatches:
    """Re-iterable padded batches ``(src, src_lengths, tgt_in, tgt_out)`` for :func:`rnnlib.train.fit`.

    Shapes: ``src`` (N, S) int64 right-padded with 0, ``src_lengths`` (N,), ``tgt_in`` (N, T)
    = ``<bos> y_1 .. y_m`` and ``tgt_out`` (N, T) = ``y_1 .. y_m <eos>`` (teacher forcing), both
    padded with 0 (the loss ignores id 0).

    With ``bucket=True`` examples of similar source length are batched together (sorted, cut
    into batches, the batch order shuffled), so little time goes into padding. Each pass
    reshuffles with a generator seeded by a seed and the pass number: reproducible (``rng``: an
    int seed, or a ``numpy.random.Generator`` from which that seed is drawn).
    :func:`rnnlib.train.fit` sets the pass number with :meth:`set_epoch`, so a resumed run
    replays the order of the run it continues.
    """

    def __init__(self, pairs, vocab, batch_size, shuffle=True, bucket=True, rng=0):
        self.batch_size = check_positive_int("batch_size", batch_size)
        if len(pairs) == 0:
            raise ValueError("pairs must be a non-empty list of (source, target) token lists, got []")
        self.sources = [vocab.encode(s) for s, _ in pairs]
        self.targets = [vocab.encode(t) for _, t in pairs]
        check_rng(rng)
        self.shuffle, self.bucket = shuffle, bucket
        self.seed = int(rng) if isinstance(rng, numbers.Integral) else int(rng.integers(2**63))
        self._epoch = 0

    def __len__(self):
        return -(-len(self.sources) // self.batch_size)

    def set_epoch(self, epoch):
        """The next pass is pass number ``epoch`` (0-based): its order is drawn from ``[seed, epoch]``."""
        self._epoch = check_positive_int("epoch", epoch, allow_zero=True)

    def _batches_of_indices(self):
        rng = np.random.default_rng([self.seed, self._epoch])
        order = np.arange(len(self.sources))
        if self.bucket:
            lengths = np.array([len(s) for s in self.sources])
            jitter = rng.permutation(len(order)) if self.shuffle else order
            order = jitter[np.argsort(lengths[jitter], kind="stable")]
        elif self.shuffle:
            order = rng.permutation(order)
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def __iter__(self):
        import torch

        batches = self._batches_of_indices()
        self._epoch += 1
        for idx in batches:
            src, src_len = pad_sequences([self.sources[i] for i in idx])
            tgt_in, _ = pad_sequences([[BOS_ID] + self.targets[i] for i in idx])
            tgt_out, _ = pad_sequences([self.targets[i] + [EOS_ID] for i in idx])
            yield (torch.from_numpy(src), torch.from_numpy(src_len), torch.from_numpy(tgt_in), torch.from_numpy(tgt_out))

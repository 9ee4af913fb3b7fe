r"""A sequence tagger: one label per input token, read left to right or in both directions.

.. math::

    e_t = \mathrm{embed}(x_t), \qquad
    \overrightarrow{h}_t = \mathrm{cell}(e_t, \overrightarrow{h}_{t-1}), \qquad
    \overleftarrow{h}_t = \mathrm{cell}'(e_t, \overleftarrow{h}_{t+1}), \qquad
    \mathrm{logits}_t = [\overrightarrow{h}_t ; \overleftarrow{h}_t]\, W_{out}^\top + b_{out}

With ``bidirectional=False`` only :math:`\overrightarrow{h}_t` is used, so the label at position t
is a function of :math:`x_1 .. x_t` alone; with ``bidirectional=True`` it sees the whole sentence
(Schuster & Paliwal 1997). Stacked layers (``num_layers > 1``) read the concatenated states of
the layer below.
"""

import torch
from torch import nn

from rnnlib.nn.recurrent import MODULES
from rnnlib.validate import check_choice, check_integer, check_positive_int, check_shape, check_token_ids

__all__ = ["SequenceTagger"]


class SequenceTagger(nn.Module):
    """Embedding -> (bidirectional) recurrent layers from ``rnnlib.nn`` -> linear, at every step.

    Args:
        vocab_size: number of distinct tokens V.
        num_tags: number of labels K.
        hidden_size: H per direction.
        cell: "rnn", "lstm" or "gru".
        bidirectional: read in both directions (output features 2H) or left to right only (H).
        num_layers: stacked recurrent layers.
        embedding_dim: size of the learned token embedding (default: hidden_size).

    ``forward(x)``: x (N, T) int64 token ids -> logits (N, T, K).
    """

    def __init__(self, vocab_size, num_tags, hidden_size, cell="lstm", bidirectional=True, num_layers=1, embedding_dim=None):
        super().__init__()
        self.vocab_size = check_positive_int("vocab_size", vocab_size)
        self.num_tags = check_positive_int("num_tags", num_tags)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.cell = check_choice("cell", cell, tuple(MODULES))
        if not isinstance(bidirectional, bool):
            raise TypeError(f"bidirectional must be a bool, got {type(bidirectional).__name__} {bidirectional!r}")
        self.bidirectional = bidirectional
        self.num_layers = check_positive_int("num_layers", num_layers)
        embedding_dim = hidden_size if embedding_dim is None else check_positive_int("embedding_dim", embedding_dim)
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.rnn = MODULES[cell][0](
            embedding_dim, hidden_size, num_layers=num_layers, batch_first=True, bidirectional=bidirectional
        )
        self.head = nn.Linear(hidden_size * (2 if bidirectional else 1), num_tags)

    def forward(self, x):
        check_integer("x", x)
        check_shape("x", x, ("N", "T"), note="of token ids (batch_first)")
        if x.shape[1] == 0:
            raise ValueError(f"x must hold at least one time step, got shape {tuple(x.shape)}")
        check_token_ids("x", x, self.vocab_size)
        hs, _ = self.rnn(self.embedding(x))  # (N, T, H * directions)
        return self.head(hs)

    @torch.no_grad()
    def predict(self, x):
        """Most likely tag at every position: (N, T) int64."""
        was_training = self.training
        self.eval()
        try:
            return self(x).argmax(dim=-1)
        finally:
            self.train(was_training)

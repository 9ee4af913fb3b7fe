r"""Small models built on a recurrent layer: a character language model and a sequence regressor.

``CharLM`` (many-to-many) reads characters and predicts the next one at every position:

.. math::

    e_t = \mathrm{embed}(x_t) \text{ (or one-hot)}, \qquad
    h_t = \mathrm{cell}(e_t, h_{t-1}), \qquad
    \mathrm{logits}_t = h_t W_{out}^\top + b_{out}

``SequenceRegressor`` (many-to-one) reads a whole sequence and maps its last hidden state to
an output: :math:`\hat y = h_T W_{out}^\top + b_{out}`. It serves forecasting (chapter 1) and the
adding problem (chapters 3 and 4).

Both are batch-first: token ids ``(N, T)``, features ``(N, T, D)``. The state is ``h`` of shape
``(num_layers, N, H)`` for ``"rnn"`` and ``"gru"``, and a tuple ``(h, c)`` for ``"lstm"``, exactly
as for ``torch.nn.RNN``/``LSTM``/``GRU``.
"""

import torch
import torch.nn.functional as F
from torch import nn

from rnnlib.nn.recurrent import MODULES
from rnnlib.validate import (
    check_choice,
    check_float,
    check_instance,
    check_integer,
    check_number,
    check_positive_int,
    check_probability,
    check_recurrent_state,
    check_shape,
    check_token_ids,
    check_token_sequence,
)

__all__ = ["CharLM", "SequenceRegressor", "recurrent_layer"]

CELLS = tuple(MODULES)


def recurrent_layer(cell, input_size, hidden_size, num_layers=1, dropout=0.0, nonlinearity="tanh"):
    """A batch-first recurrent layer of the given ``cell`` ("rnn", "lstm" or "gru"): rnnlib.nn's.

    ``nonlinearity`` ("tanh" or "relu") applies to the vanilla RNN only. The layers are
    :class:`rnnlib.nn.RNN`, :class:`~rnnlib.nn.LSTM` and :class:`~rnnlib.nn.GRU`, written from
    tensor primitives with torch.nn's parameters, so a model's ``state_dict`` also loads into the
    same model built on ``torch.nn``.
    """
    check_choice("cell", cell, CELLS)
    check_choice("nonlinearity", nonlinearity, ("tanh", "relu"))
    if cell != "rnn" and nonlinearity != "tanh":
        raise ValueError(f"nonlinearity applies to cell='rnn' only, got nonlinearity={nonlinearity!r} with cell={cell!r}")
    layer_class = MODULES[cell][0]
    options = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    # dropout acts between stacked layers only (torch warns when it is set with one layer)
    return layer_class(
        input_size, hidden_size, num_layers=num_layers, batch_first=True,
        dropout=dropout if num_layers > 1 else 0.0, **options,
    )


class CharLM(nn.Module):
    """Character-level language model: (embedding or one-hot) -> recurrent layer -> linear.

    Args:
        vocab_size: number of distinct tokens V.
        hidden_size: H, the size of the hidden state.
        cell: "rnn", "lstm" or "gru".
        num_layers: stacked recurrent layers.
        embedding_dim: size E of a learned embedding; ``None`` feeds one-hot vectors of size V
            (as in min-char-rnn), so that the first layer's ``W_ih`` column j is character j's
            input weight.
        dropout: dropout rate between stacked layers and before the output layer.

    ``forward(x, state=None)``: x (N, T) int64 token ids -> ``(logits (N, T, V), state)``.
    """

    def __init__(self, vocab_size, hidden_size, cell="rnn", num_layers=1, embedding_dim=None, dropout=0.0):
        super().__init__()
        self.vocab_size = check_positive_int("vocab_size", vocab_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.cell = check_choice("cell", cell, CELLS)
        self.num_layers = check_positive_int("num_layers", num_layers)
        if embedding_dim is not None:
            check_positive_int("embedding_dim", embedding_dim)
        self.embedding_dim = embedding_dim
        self.dropout_rate = check_probability("dropout", dropout)
        self.embedding = nn.Embedding(vocab_size, embedding_dim) if embedding_dim is not None else None
        input_size = embedding_dim if embedding_dim is not None else vocab_size
        self.rnn = recurrent_layer(cell, input_size, hidden_size, num_layers, dropout)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def _inputs(self, x):
        """(N, T) ids -> (N, T, E) embeddings or (N, T, V) one-hot vectors."""
        if self.embedding is not None:
            return self.embedding(x)
        return F.one_hot(x, self.vocab_size).to(self.head.weight.dtype)

    def forward(self, x, state=None):
        check_integer("x", x)
        check_shape("x", x, ("N", "T"), note="of token ids (batch_first)")
        if x.shape[1] == 0:
            raise ValueError(f"x must hold at least one time step, got shape {tuple(x.shape)}")
        check_token_ids("x", x, self.vocab_size)
        if state is not None:
            check_recurrent_state(state, self.cell, (self.num_layers, x.shape[0], self.hidden_size), self.head.weight,
                                  "(num_layers, N, hidden_size)")
        hs, state = self.rnn(self._inputs(x), state)  # hs (N, T, H)
        return self.head(self.dropout(hs)), state

    @torch.no_grad()
    def sample(self, prefix_ids, length, temperature=1.0, generator=None):
        """Generate ``length`` tokens after ``prefix_ids``, one at a time, on the model's device.

        The prefix is read in one pass; each new token is drawn from
        :math:`\\mathrm{softmax}(\\mathrm{logits} / \\tau)` and fed back as the next input.

        Args:
            prefix_ids: non-empty sequence of token ids (list, tuple or 1-D integer tensor).
            length: number of tokens to generate (>= 0).
            temperature: :math:`\\tau > 0`; lower is more conservative. ``0`` picks the most
                likely token at every step (greedy decoding).
            generator: optional ``torch.Generator``; draws happen on its device, so a CPU
                generator gives the same samples whatever device the model is on.

        Returns:
            list of ``length`` generated token ids (the prefix is not included).
        """
        device = self.head.weight.device
        prefix = torch.as_tensor(prefix_ids, device=device)
        check_token_sequence("prefix_ids", prefix, self.vocab_size)
        check_positive_int("length", length, allow_zero=True)
        check_number("temperature", temperature, low=0)
        check_instance("generator", generator, torch.Generator, optional=True)

        was_training = self.training
        self.eval()
        try:
            logits, state = self(prefix.long().unsqueeze(0))
            out = []
            for _ in range(length):
                last = logits[0, -1]  # (V,)
                if temperature == 0:
                    token = last.argmax().view(1)
                else:
                    probs = torch.softmax(last.double() / temperature, dim=-1)
                    draw_device = generator.device if generator is not None else device
                    token = torch.multinomial(probs.to(draw_device), 1, generator=generator).to(device)
                out.append(int(token))
                logits, state = self(token.view(1, 1), state)
        finally:
            self.train(was_training)
        return out


class SequenceRegressor(nn.Module):
    """Many-to-one regressor: a recurrent layer reads (N, T, D); its last hidden state -> linear.

    .. math:: \\hat y = h_T W_{out}^\\top + b_{out}, \\qquad h_T \\in \\mathbb{R}^{N \\times H}
        \\text{ (top layer)}

    Args:
        input_size: D, features per time step.
        hidden_size: H.
        cell: "rnn", "lstm" or "gru".
        num_layers: stacked recurrent layers.
        output_size: size of the prediction.
        nonlinearity: "tanh" or "relu" (vanilla RNN only).

    ``forward(x)``: x (N, T, D) float -> (N, output_size).
    """

    def __init__(self, input_size, hidden_size, cell="rnn", num_layers=1, output_size=1, nonlinearity="tanh"):
        super().__init__()
        self.input_size = check_positive_int("input_size", input_size)
        self.hidden_size = check_positive_int("hidden_size", hidden_size)
        self.cell = check_choice("cell", cell, CELLS)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.output_size = check_positive_int("output_size", output_size)
        self.rnn = recurrent_layer(cell, input_size, hidden_size, num_layers, nonlinearity=nonlinearity)
        self.head = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        check_float("x", x)
        check_shape("x", x, ("N", "T", self.input_size), note="(batch_first)")
        if x.shape[1] == 0:
            raise ValueError(f"x must hold at least one time step, got shape {tuple(x.shape)}")
        if x.dtype != self.head.weight.dtype:
            raise TypeError(f"x must have the model's dtype {self.head.weight.dtype}, got {x.dtype}")
        hs, _ = self.rnn(x)  # (N, T, H)
        return self.head(hs[:, -1])

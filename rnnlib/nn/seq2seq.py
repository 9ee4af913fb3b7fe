"""Encoder–decoder (sequence-to-sequence) models, with a fixed-length context or with attention.

One model, :class:`Seq2Seq`, three decoders that differ in a single line, the context
vector :math:`c_t` that the decoder reads at output step t:

* ``attention=None`` -- the fixed-length context of Cho et al. (2014) and Sutskever et al.
  (2014): the whole source is summarised once, :math:`c_t = c = [\\overrightarrow{h}_S;
  \\overleftarrow{h}_1]`, and the same vector is fed at every step;
* ``attention="additive"`` -- Bahdanau et al. (2015): :math:`e_{tj} = v^\\top \\tanh(W_q s_{t-1}
  + W_k h_j)`, :math:`\\alpha_t = \\mathrm{softmax}_j(e_{tj})`, :math:`c_t = \\sum_j \\alpha_{tj} h_j`;
* ``attention="dot"`` -- Luong et al. (2015), "general" score :math:`e_{tj} = s_{t-1}^\\top W_a h_j`
  (scaled by :math:`1/\\sqrt{d}`, as in Vaswani et al. 2017).

Every decoder step is then the same (equations of Bahdanau et al., with a linear output layer)::

    s_t = Cell([E y_{t-1}; c_t], s_{t-1})
    p(y_t | y_<t, x) = softmax(W_o [s_t; c_t; E y_{t-1}] + b_o)

The encoder reads the source in both directions (optional) and ignores padding: the backward
direction starts at each sequence's own last token, not at the padding, and attention gives
padded positions exactly zero weight. Shapes are batch-first; ids are int64 with 0 = padding.
Decoding: teacher forcing (:meth:`Seq2Seq.forward`), greedy (:meth:`Seq2Seq.greedy_decode`) and
beam search (:meth:`Seq2Seq.beam_search`).
"""

from dataclasses import dataclass

import torch
from torch import nn

from rnnlib.nn.attention import AdditiveAttention, DotProductAttention
from rnnlib.nn.decoding import beam_search, greedy_search
from rnnlib.layout import hidden
from rnnlib.nn.recurrent import MODULES
from rnnlib.validate import (
    check_choice,
    check_integer,
    check_positive_int,
    check_shape,
    check_special_ids,
    check_token_ids,
)

__all__ = ["Seq2Seq", "EncoderOutput", "reverse_padded", "length_mask"]



def length_mask(lengths, max_len):
    """Boolean mask (N, max_len), True at real tokens (t < lengths[n]) and False at padding."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def reverse_padded(x, lengths):
    """Reverse each sequence of ``x`` (N, T, ...) within its own length; padding stays at the end.

    ``[a b c <pad>]`` becomes ``[c b a <pad>]``. Applying it twice gives ``x`` back, so a
    forward-in-time RNN run on the reversed sequences and reversed back is the backward
    direction of a bidirectional RNN that ignores the padding.
    """
    N, T = x.shape[:2]
    steps = torch.arange(T, device=x.device)[None, :].expand(N, T)
    index = torch.where(steps < lengths[:, None], lengths[:, None] - 1 - steps, steps)
    index = index.reshape(N, T, *([1] * (x.dim() - 2))).expand_as(x)
    return torch.gather(x, 1, index)


@dataclass
class EncoderOutput:
    """What the decoder reads: ``memory`` (N, S, H_enc) = the annotations h_j, ``mask`` (N, S)
    True at real tokens, ``summary`` (N, H_enc) = the fixed-length context (last forward state,
    first backward state), and ``keys`` (N, S, ·): the annotations as the attention scores see
    them, projected once per sequence (``"additive"``: W_k h_j; ``"dot"``: W_a h_j; without
    attention they are ``memory``)."""

    memory: torch.Tensor
    mask: torch.Tensor
    summary: torch.Tensor
    keys: torch.Tensor


class Seq2Seq(nn.Module):
    """An RNN encoder–decoder; ``attention`` = None (fixed context), "additive" or "dot".

    Args:
        src_vocab_size, tgt_vocab_size: vocabulary sizes (id 0 is padding in both).
        embedding_dim: size of the token embeddings E.
        hidden_size: H of each encoder direction; the decoder state has size ``decoder_size``
            (default: the annotation size, 2H if bidirectional else H).
        attention: None, "additive" or "dot".
        attention_size: hidden size of the additive score's MLP (default: ``hidden_size``).
        bidirectional: read the source in both directions (Bahdanau et al.) or forward only.
        cell: "gru" or "lstm" (rnnlib.nn's, written from tensor primitives).
        bos_id, eos_id, pad_id: special token ids of the target vocabulary, all different
            (``pad_id`` is the padding of the source vocabulary too).
    """

    def __init__(
        self,
        src_vocab_size,
        tgt_vocab_size,
        embedding_dim=32,
        hidden_size=64,
        attention="additive",
        attention_size=None,
        decoder_size=None,
        bidirectional=True,
        cell="gru",
        bos_id=1,
        eos_id=2,
        pad_id=0,
    ):
        super().__init__()
        check_positive_int("src_vocab_size", src_vocab_size)
        check_positive_int("tgt_vocab_size", tgt_vocab_size)
        check_positive_int("embedding_dim", embedding_dim)
        check_positive_int("hidden_size", hidden_size)
        check_choice("attention", attention, (None, "additive", "dot"))
        check_choice("cell", cell, ("gru", "lstm"))
        if not isinstance(bidirectional, bool):
            raise TypeError(f"bidirectional must be a bool, got {type(bidirectional).__name__}")
        check_special_ids(tgt_vocab_size, "tgt_vocab_size", bos_id=bos_id, eos_id=eos_id, pad_id=pad_id)
        check_special_ids(src_vocab_size, "src_vocab_size", pad_id=pad_id)
        self.attention_kind, self.cell_kind, self.bidirectional = attention, cell, bidirectional
        self.bos_id, self.eos_id, self.pad_id = bos_id, eos_id, pad_id
        self.src_vocab_size, self.tgt_vocab_size = src_vocab_size, tgt_vocab_size
        recurrent, step_cell = MODULES[cell]
        memory_size = hidden_size * (2 if bidirectional else 1)
        decoder_size = memory_size if decoder_size is None else check_positive_int("decoder_size", decoder_size)
        self.memory_size, self.decoder_size = memory_size, decoder_size

        self.src_embedding = nn.Embedding(src_vocab_size, embedding_dim, padding_idx=pad_id)
        self.encoder_forward = recurrent(embedding_dim, hidden_size)
        self.encoder_backward = recurrent(embedding_dim, hidden_size) if bidirectional else None
        self.init_state = nn.Linear(memory_size, decoder_size)

        if attention == "additive":
            self.attention = AdditiveAttention(decoder_size, memory_size, attention_size or hidden_size)
        elif attention == "dot":
            self.key_projection = nn.Linear(memory_size, decoder_size, bias=False)  # Luong's W_a
            self.attention = DotProductAttention(scaled=True)
        else:
            self.attention = None

        self.tgt_embedding = nn.Embedding(tgt_vocab_size, embedding_dim, padding_idx=pad_id)
        self.decoder_cell = step_cell(embedding_dim + memory_size, decoder_size)
        self.output = nn.Linear(decoder_size + memory_size + embedding_dim, tgt_vocab_size)

    # ------------------------------------------------------------------------------------------
    # Encoder

    def _check_source(self, src, src_lengths):
        check_integer("src", src)
        check_shape("src", src, ("N", "S"))
        check_token_ids("src", src, self.src_vocab_size)
        check_integer("src_lengths", src_lengths)
        check_shape("src_lengths", src_lengths, (src.shape[0],), note="(one length per source sequence)")
        if int(src_lengths.min()) < 1 or int(src_lengths.max()) > src.shape[1]:
            raise ValueError(
                f"src_lengths must lie in [1, {src.shape[1]}] (the padded source length), "
                f"got values in [{int(src_lengths.min())}, {int(src_lengths.max())}]"
            )

    def encode(self, src, src_lengths):
        """Annotations of the source. src (N, S) int64, src_lengths (N,) -> :class:`EncoderOutput`."""
        self._check_source(src, src_lengths)
        src_lengths = src_lengths.to(src.device)
        embedded = self.src_embedding(src)  # (N, S, E)
        last = (src_lengths - 1)[:, None, None]
        forward, _ = self.encoder_forward(embedded)  # (N, S, H); states past the end are masked later
        # h_S of the forward direction: the state after each sequence's own last token
        summary = [forward.gather(1, last.expand(-1, 1, forward.shape[2])).squeeze(1)]
        outputs = [forward]
        if self.encoder_backward is not None:
            backward, _ = self.encoder_backward(reverse_padded(embedded, src_lengths))
            # the backward run read x_S .. x_1, so its state after x_1 sits at position len - 1
            summary.append(backward.gather(1, last.expand(-1, 1, backward.shape[2])).squeeze(1))
            outputs.append(reverse_padded(backward, src_lengths))
        memory = torch.cat(outputs, dim=2)  # (N, S, H_enc), h_j = [fwd_j; bwd_j]
        if self.attention_kind == "additive":
            keys = self.attention.project_keys(memory)  # W_k h_j does not depend on the decoder step
        elif self.attention_kind == "dot":
            keys = self.key_projection(memory)
        else:
            keys = memory
        return EncoderOutput(memory, length_mask(src_lengths, src.shape[1]), torch.cat(summary, dim=1), keys)

    # ------------------------------------------------------------------------------------------
    # Decoder

    def initial_state(self, encoded):
        """s_0 = tanh(W_s c + b_s) from the summary c (N, H_enc); for an LSTM, (s_0, zeros)."""
        h = torch.tanh(self.init_state(encoded.summary))
        return (h, torch.zeros_like(h)) if self.cell_kind == "lstm" else h

    def context(self, state, encoded):
        """c_t and alpha_t for the query s_{t-1}: (N, H_enc) and (N, S) (None without attention)."""
        if self.attention is None:
            return encoded.summary, None
        if self.attention_kind == "additive":
            return self.attention(hidden(state), encoded.memory, mask=encoded.mask, projected_keys=encoded.keys)
        return self.attention(hidden(state), encoded.keys, encoded.memory, mask=encoded.mask)

    def _step(self, embedded, state, encoded):
        """The recurrence of one step: (c_t, alpha_t) from s_{t-1}, then s_t = Cell([E y_{t-1}; c_t], s_{t-1})."""
        context, weights = self.context(state, encoded)
        state = self.decoder_cell(torch.cat([embedded, context], dim=1), state)
        return state, context, weights

    def _logits(self, state_h, context, embedded):
        # p(y_t | y_<t, x) = softmax(W_o [s_t; c_t; E y_{t-1}] + b_o)
        return self.output(torch.cat([state_h, context, embedded], dim=-1))

    def decode_step(self, y_prev, state, encoded):
        """One decoder step. y_prev (N,) ids, state s_{t-1} -> (logits (N, V), s_t, alpha_t (N, S) or None)."""
        embedded = self.tgt_embedding(y_prev)  # (N, E)
        state, context, weights = self._step(embedded, state, encoded)
        return self._logits(hidden(state), context, embedded), state, weights

    def forward(self, src, src_lengths, tgt_in):
        """Teacher forcing: the decoder reads the true previous token at every step.

        Args:
            src (N, S) int64, src_lengths (N,), tgt_in (N, T) int64 = ``<bos> y_1 .. y_{T-1}``.

        Returns:
            logits (N, T, V) and attention weights (N, T, S) (None without attention).
        """
        check_integer("tgt_in", tgt_in)
        check_shape("tgt_in", tgt_in, (src.shape[0], "T"), note="(same batch size as src)")
        check_token_ids("tgt_in", tgt_in, self.tgt_vocab_size)
        encoded = self.encode(src, src_lengths)
        state = self.initial_state(encoded)
        embedded = self.tgt_embedding(tgt_in)  # (N, T, E): every input token is known in advance
        states, contexts, all_weights = [], [], []
        for t in range(tgt_in.shape[1]):
            state, context, weights = self._step(embedded[:, t], state, encoded)
            states.append(hidden(state))
            contexts.append(context)
            all_weights.append(weights)
        # the output layer does not feed back, so it runs once over all steps
        logits = self._logits(torch.stack(states, dim=1), torch.stack(contexts, dim=1), embedded)
        weights = None if self.attention is None else torch.stack(all_weights, dim=1)
        return logits, weights

    def _never_generated(self, logits):
        """Logits with ``<pad>`` and ``<bos>`` set to -inf: decoding never emits them."""
        logits = logits.clone()
        logits[:, [self.pad_id, self.bos_id]] = -float("inf")
        return logits

    @torch.no_grad()
    def greedy_decode(self, src, src_lengths, max_len):
        """Pick the most probable token at each step until ``<eos>`` (or ``max_len`` steps).

        Returns tokens (N, L) int64 (``<eos>`` included, padded with ``pad_id`` after it) and
        attention weights (N, L, S) (None without attention), L <= max_len.
        """
        check_positive_int("max_len", max_len)
        encoded = self.encode(src, src_lengths)
        return greedy_search(
            self._search_step(encoded), self.initial_state(encoded), batch_size=src.shape[0],
            bos_id=self.bos_id, eos_id=self.eos_id, pad_id=self.pad_id, max_len=max_len, device=src.device,
        )

    @torch.no_grad()
    def beam_search(self, src, src_lengths, beam_size, max_len):
        """Beam search for each source sequence; returns a list (length N) of the best :class:`~rnnlib.nn.decoding.Hypothesis`.

        At each step every live prefix is extended by every token and the ``beam_size``
        highest-scoring extensions are kept (score = sum of log-probabilities, with ``<pad>`` and
        ``<bos>`` excluded from the softmax, as in :meth:`greedy_decode`). An extension that ends
        in ``<eos>`` is finished and leaves the beam. The search stops when no live prefix is left
        or none can beat the best finished one (scores only decrease as tokens are added), or
        after ``max_len`` steps, when the live prefixes are finished as they are. With
        ``beam_size=1`` this is greedy decoding; with a beam as large as the number of prefixes it is exact.
        """
        check_positive_int("beam_size", beam_size)
        check_positive_int("max_len", max_len)
        self._check_source(src, src_lengths)
        return [self._beam_search_one(src[n : n + 1], src_lengths[n : n + 1], beam_size, max_len) for n in range(src.shape[0])]

    def _beam_search_one(self, src, src_lengths, beam_size, max_len):
        encoded = self.encode(src, src_lengths)
        return beam_search(self._search_step(encoded), self.initial_state(encoded), bos_id=self.bos_id,
                           eos_id=self.eos_id, beam_size=beam_size, max_len=max_len)

    def _search_step(self, encoded):
        """The decoder step that greedy and beam search call, for k rows at once: the rows read
        the encoder output (one input's, expanded to the k prefixes of a beam), and ``<pad>`` and
        ``<bos>`` are never emitted."""

        def step(y, state):
            k = y.shape[0]
            parts = (encoded.memory, encoded.mask, encoded.summary, encoded.keys)
            rows = encoded if encoded.memory.shape[0] == k else EncoderOutput(*(t.expand(k, *t.shape[1:]) for t in parts))
            logits, state, alpha = self.decode_step(y, state, rows)
            return self._never_generated(logits), state, alpha

        return step

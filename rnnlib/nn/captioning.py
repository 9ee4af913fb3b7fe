r"""Image captioning: a small CNN encoder and an LSTM decoder, with or without visual attention.

The encoder turns an image (N, 3, H, W) into a grid of feature vectors
:math:`a = (a_1, \dots, a_S)`, :math:`a_s \in \mathbb{R}^C`, returned as (N, S, C) with
S = (H/8)(W/8). Two decoders read it:

* ``attention=True`` -- *show, attend and tell* (Xu et al. 2015, soft attention): at every step
  the decoder looks at the grid again,

  .. math::

      e_{ts} = v^\top \tanh(W_q h_{t-1} + W_k a_s), \quad
      \alpha_t = \mathrm{softmax}_s(e_t), \quad z_t = \sum_s \alpha_{ts} a_s,

      (h_t, c_t) = \mathrm{LSTM}([E y_{t-1}; z_t], (h_{t-1}, c_{t-1})), \quad
      p(y_t \mid y_{<t}, a) = \mathrm{softmax}(W_o [h_t; z_t; E y_{t-1}] + b_o);

* ``attention=False`` -- one fixed image vector fed at every step, as Cho et al. (2014) feed their
  fixed context (Vinyals et al. 2015 feed the image once, as the first input): the whole grid, flattened
  and projected once, :math:`z = \tanh(W_z \mathrm{vec}(a) + b_z) \in \mathbb{R}^C` with
  :math:`\mathrm{vec}(a) = [a_1; \dots; a_S]`, takes the place of :math:`z_t` in the equations above.
  It keeps where each feature was (which *left of* needs), but it is the same vector at every word.

Both start from a summary :math:`f` of the grid, :math:`h_0 = \tanh(W_h f + b_h)`,
:math:`c_0 = \tanh(W_c f + b_c)`: the mean feature :math:`f = \bar a = \frac1S \sum_s a_s`
(``summary="mean"``, Xu et al., eq. 5), or every cell of the grid, flattened, :math:`f = \mathrm{vec}(a)`
(``summary="grid"``).

The encoder standardises the image channels with a batch normalisation (no learned scale), adds two
coordinate channels (x and y in [-1, 1]), so that a feature vector knows where in the picture it
comes from (convolutions alone are translation-equivariant, and the caption's word order depends on
position), and normalises every convolution's output over the batch before its ReLU, which keeps
the ReLUs' inputs centred while the decoder trains. On chapter 7's scenes this is what lets the
encoder learn within a few hundred updates: with the same 250 updates, the attention model's object
F1 on the test scenes was about 0.5 without the normalisation and about 1.0 with it.

Decoding: teacher forcing (:meth:`CaptionModel.forward`), greedy (:meth:`CaptionModel.greedy_decode`)
and beam search (:meth:`CaptionModel.beam_search`, built on :func:`rnnlib.nn.decoding.beam_search`, which takes any
decoder step function). Both return the attention weights of every generated word.
"""

import torch
from torch import nn

from rnnlib.nn.attention import AdditiveAttention
from rnnlib.nn.recurrent import LSTMCell
from rnnlib.nn.decoding import beam_search, greedy_search
from rnnlib.validate import (
    check_choice,
    check_float,
    check_integer,
    check_positive_int,
    check_shape,
    check_special_ids,
    check_token_ids,
)

__all__ = ["CNNEncoder", "CaptionModel", "caption_loss"]


class CNNEncoder(nn.Module):
    """Three blocks of 3x3 convolution, batch norm, ReLU and 2x2 max-pool: (N, 3, H, W) -> (N, S, C), S = HW/64.

    The image channels are standardised first (batch norm without a learned scale) and two
    coordinate channels are added. Batch norm uses the batch's statistics in training mode and
    running averages in eval mode: call ``model.eval()`` before decoding.

    Args:
        channels: output channels of the three convolutions; C = ``channels[-1]``.
        in_channels: image channels (3 for RGB); two coordinate channels are added to them.
    """

    def __init__(self, channels=(16, 32, 32), in_channels=3):
        super().__init__()
        if len(channels) != 3:
            raise ValueError(f"channels must hold three sizes (one per convolution), got {channels!r}")
        for c in channels:
            check_positive_int("channels", c)
        self.in_channels = check_positive_int("in_channels", in_channels)
        self.out_channels = channels[-1]
        c1, c2, c3 = channels
        self.input_norm = nn.BatchNorm2d(in_channels, affine=False)
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels + 2, c1, 3, padding=1),
            nn.BatchNorm2d(c1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1),
            nn.BatchNorm2d(c2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(c2, c3, 3, padding=1),
            nn.BatchNorm2d(c3),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )

    def forward(self, images):
        """images (N, in_channels, H, W), H and W divisible by 8 -> features (N, S, C), S = HW/64."""
        check_float("images", images)
        check_shape("images", images, ("N", self.in_channels, "H", "W"))
        N, _, H, W = images.shape
        if H % 8 or W % 8:
            raise ValueError(f"images must have a height and width divisible by 8, got {H}x{W}")
        ys = torch.linspace(-1, 1, H, device=images.device, dtype=images.dtype)
        xs = torch.linspace(-1, 1, W, device=images.device, dtype=images.dtype)
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
        coords = torch.stack([grid_x, grid_y]).expand(N, 2, H, W)
        maps = self.layers(torch.cat([self.input_norm(images), coords], dim=1))  # (N, C, H/8, W/8)
        # the grid read row by row: s = row * (W/8) + column
        return maps.flatten(2).transpose(1, 2)


class CaptionModel(nn.Module):
    """CNN encoder + LSTM decoder, with soft visual attention (``attention=True``) or without.

    Args:
        vocab_size: V, with ``pad_id`` = 0, ``bos_id`` = 1 (``<start>``), ``eos_id`` = 2 (``<end>``)
            by default (three different ids in [0, V)).
        embedding_dim: size of the word embeddings E.
        hidden_size: H, the LSTM state size.
        attention: soft attention over the feature grid at every step (Xu et al.), or one fixed
            vector projected from the whole grid, fed at every step.
        attention_size: hidden size of the additive score (default: ``hidden_size``).
        channels: the encoder's convolution channels (C = ``channels[-1]``).
        summary: what the initial state reads: ``"mean"``, the mean feature vector, or ``"grid"``,
            all S feature vectors flattened (S C numbers).
        grid_cells: S, the number of grid cells of the images to come (for ``summary="grid"`` and
            ``attention=False``; 16 for 32x32 images).
    """

    def __init__(
        self,
        vocab_size,
        embedding_dim=32,
        hidden_size=64,
        attention=True,
        attention_size=None,
        channels=(16, 32, 32),
        summary="mean",
        grid_cells=16,
        pad_id=0,
        bos_id=1,
        eos_id=2,
    ):
        super().__init__()
        check_positive_int("vocab_size", vocab_size)
        check_positive_int("embedding_dim", embedding_dim)
        check_positive_int("hidden_size", hidden_size)
        if not isinstance(attention, bool):
            raise TypeError(f"attention must be a bool, got {type(attention).__name__}")
        check_special_ids(vocab_size, bos_id=bos_id, eos_id=eos_id, pad_id=pad_id)
        self.vocab_size, self.use_attention = vocab_size, attention
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self.encoder = CNNEncoder(channels)
        C = self.encoder.out_channels
        self.summary = check_choice("summary", summary, ("mean", "grid"))
        self.grid_cells = check_positive_int("grid_cells", grid_cells)
        summary_size = C if summary == "mean" else grid_cells * C
        self.init_h = nn.Linear(summary_size, hidden_size)
        self.init_c = nn.Linear(summary_size, hidden_size)
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=pad_id)
        if attention:
            self.attention = AdditiveAttention(hidden_size, C, attention_size or hidden_size)
        else:
            self.attention = None
            self.context_projection = nn.Linear(grid_cells * C, C)  # W_z, b_z
        self.cell = LSTMCell(embedding_dim + C, hidden_size)
        self.output = nn.Linear(hidden_size + C + embedding_dim, vocab_size)

    def encode(self, images):
        """images (N, 3, H, W) -> feature grid (N, S, C)."""
        return self.encoder(images)

    def initial_state(self, features):
        """(h_0, c_0) = (tanh(W_h f + b_h), tanh(W_c f + b_c)), each (N, H), from features (N, S, C).

        f is the mean feature (N, C) for ``summary="mean"``, the flattened grid (N, S C) for ``"grid"``.
        """
        summary = features.mean(dim=1) if self.summary == "mean" else self._flat_grid(features)
        return torch.tanh(self.init_h(summary)), torch.tanh(self.init_c(summary))

    def fixed_context(self, features):
        """z = tanh(W_z vec(a) + b_z) (N, C) from features (N, S, C): the context of ``attention=False``."""
        return torch.tanh(self.context_projection(self._flat_grid(features)))

    def _flat_grid(self, features):
        """vec(a): features (N, S, C) with S = grid_cells, flattened to (N, S C)."""
        check_shape("features", features, ("N", self.grid_cells, "C"), note=f"(grid_cells={self.grid_cells})")
        return features.flatten(1)

    def decode_step(self, y_prev, state, features):
        """One step. y_prev (N,) ids, state (h, c) -> (logits (N, V), (h, c), alpha (N, S) or None)."""
        embedded = self.embedding(y_prev)  # (N, E)
        if self.attention is None:
            # z = tanh(W_z vec(a) + b_z): the same vector at every step
            context, alpha = self.fixed_context(features), None
        else:
            # z_t, alpha_t from the query h_{t-1}
            context, alpha = self.attention(state[0], features)
        # (h_t, c_t) = LSTM([E y_{t-1}; z_t], (h_{t-1}, c_{t-1}))
        state = self.cell(torch.cat([embedded, context], dim=1), state)
        # p(y_t | y_<t, a) = softmax(W_o [h_t; z_t; E y_{t-1}] + b_o)
        logits = self.output(torch.cat([state[0], context, embedded], dim=1))
        return logits, state, alpha

    def forward(self, images, captions_in):
        """Teacher forcing. images (N, 3, H, W), captions_in (N, T) = ``<start> y_1 .. y_{T-1}``.

        Returns logits (N, T, V) and attention weights (N, T, S) (None without attention).
        """
        check_integer("captions_in", captions_in)
        check_shape("captions_in", captions_in, (images.shape[0], "T"), note="(one caption per image)")
        check_token_ids("captions_in", captions_in, self.vocab_size)
        features = self.encode(images)
        state = self.initial_state(features)
        logits, weights = [], []
        for t in range(captions_in.shape[1]):
            step_logits, state, alpha = self.decode_step(captions_in[:, t], state, features)
            logits.append(step_logits)
            weights.append(alpha)
        weights = None if self.attention is None else torch.stack(weights, dim=1)
        return torch.stack(logits, dim=1), weights

    @torch.no_grad()
    def greedy_decode(self, images, max_len):
        """The most probable word at each step until ``<end>`` (or ``max_len`` steps).

        Returns tokens (N, L) int64 (``<end>`` included, ``<pad>`` after it) and attention
        weights (N, L, S) (None without attention), L <= max_len.
        """
        check_positive_int("max_len", max_len)
        features = self.encode(images)
        return greedy_search(
            lambda y, state: self.decode_step(y, state, features), self.initial_state(features),
            batch_size=images.shape[0], bos_id=self.bos_id, eos_id=self.eos_id, pad_id=self.pad_id,
            max_len=max_len, device=images.device,
        )

    @torch.no_grad()
    def beam_search(self, images, beam_size, max_len):
        """Beam search for each image: a list (length N) of the best :class:`~rnnlib.nn.decoding.Hypothesis`."""
        check_positive_int("beam_size", beam_size)
        check_positive_int("max_len", max_len)
        features = self.encode(images)
        results = []
        for n in range(images.shape[0]):
            one = features[n : n + 1]

            def step(y, state, one=one):
                return self.decode_step(y, state, one.expand(y.shape[0], *one.shape[1:]))

            results.append(
                beam_search(
                    step, self.initial_state(one), bos_id=self.bos_id, eos_id=self.eos_id,
                    beam_size=beam_size, max_len=max_len,
                )
            )
        return results


def caption_loss(model, batch):
    """Mean cross-entropy per caption word for :func:`rnnlib.train.fit`; batch = (images, captions).

    captions (N, L) = ``<start> y_1 .. y_n <end> <pad>...``: the model reads ``captions[:, :-1]``
    and predicts ``captions[:, 1:]``; padding targets do not count. A batch whose targets are all
    padding has no word to predict: its loss is 0 (with zero gradients), not the NaN of 0 / 0.
    """
    images, captions = batch
    check_integer("captions", captions)
    check_shape("captions", captions, (images.shape[0], "L"), note="(one caption per image)")
    if captions.shape[1] < 2:
        raise ValueError(f"captions must hold <start> and at least one more token (L >= 2), got shape "
                         f"{tuple(captions.shape)}")
    check_token_ids("captions", captions, model.vocab_size)
    logits, _ = model(images, captions[:, :-1])
    targets = captions[:, 1:]
    if not bool((targets != model.pad_id).any()):
        return logits.sum() * 0.0
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=model.pad_id)

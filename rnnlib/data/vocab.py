"""One token <-> id mapping for every dataset: the special tokens first, then the tokens.

:class:`Vocab` serves word and symbol tasks (sequence-to-sequence, captions), with
``<pad>`` = 0, ``<bos>`` = 1, ``<eos>`` = 2 by default; :class:`CharVocab` is the same mapping
over the characters of a text, without special tokens, encoding a str and decoding to a str.
"""

import numpy as np

__all__ = ["Vocab", "CharVocab"]


class Vocab:
    """Token <-> id mapping: ``specials`` take ids 0, 1, 2 (padding, beginning and end of a
    sequence; none when ``specials=()``), then ``tokens`` in their order.

    ``encode(tokens)`` -> list of ids; with ``bos_eos=True`` wrapped in ``<bos> ... <eos>``, and
    with ``max_len`` padded with ``<pad>`` to that length. ``decode(ids)`` -> list of tokens,
    stopping at the first ``<eos>`` and skipping ``<pad>`` and ``<bos>``. ``len(vocab)`` is V;
    ``itos`` (list) and ``stoi`` (dict) are the two directions of the mapping.
    """

    PAD, BOS, EOS = 0, 1, 2  # ids of the special tokens, when there are any

    def __init__(self, tokens, specials=("<pad>", "<bos>", "<eos>")):
        tokens, specials = list(tokens), tuple(specials)
        if len(specials) not in (0, 3):
            raise ValueError(f"specials must be () or three tokens (padding, begin, end), got {specials}")
        if len(set(tokens)) != len(tokens) or set(tokens) & set(specials):
            raise ValueError(f"tokens must be distinct and must not contain {specials}, got {tokens}")
        self.specials = specials
        self.itos = list(specials) + tokens
        self.stoi = {token: i for i, token in enumerate(self.itos)}

    def __len__(self):
        return len(self.itos)

    def __repr__(self):
        return f"{type(self).__name__}(V={len(self)}, specials={self.specials})"

    def encode(self, tokens, bos_eos=False, max_len=None):
        """Tokens -> list of ids (``bos_eos``: wrapped in ``<bos> ... <eos>``; ``max_len``: padded)."""
        unknown = [token for token in tokens if token not in self.stoi]
        if unknown:
            raise ValueError(f"tokens must be in the vocabulary {self.itos[len(self.specials):]}, "
                             f"got unknown tokens {unknown}")
        ids = [self.stoi[token] for token in tokens]
        if bos_eos:
            ids = [self.BOS] + ids + [self.EOS]
        if max_len is not None:
            if len(ids) > max_len:
                raise ValueError(f"max_len must be at least {len(ids)} for these tokens, got {max_len}")
            ids += [self.PAD] * (max_len - len(ids))
        return ids

    def decode(self, ids):
        """Sequence of ids (list, NumPy array or 1-D tensor) -> list of tokens."""
        if hasattr(ids, "detach"):  # a torch tensor, on any device
            ids = ids.detach().cpu()
        ids = np.asarray(ids)
        if ids.ndim != 1:
            raise ValueError(f"ids must be a 1-D sequence of token ids, got shape {ids.shape}")
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"ids must be integers, got dtype {ids.dtype}")
        bad = ids[(ids < 0) | (ids >= len(self))]
        if bad.size:
            raise ValueError(f"ids must be in [0, {len(self) - 1}] (vocabulary size {len(self)}), got {int(bad[0])}")
        tokens = []
        for i in ids.tolist():
            if self.specials and i == self.EOS:
                break
            if not (self.specials and i in (self.PAD, self.BOS)):
                tokens.append(self.itos[i])
        return tokens


class CharVocab(Vocab):
    """A :class:`~rnnlib.data.vocab.Vocab` of the sorted distinct characters of a text, without special tokens.

    ``encode("to be")`` -> int64 array of ids; ``decode(ids)`` -> str. ``len(vocab)`` is V.
    """

    def __init__(self, text):
        if not isinstance(text, str) or not text:
            raise ValueError(f"text must be a non-empty str, got {type(text).__name__} of length "
                             f"{len(text) if hasattr(text, '__len__') else '?'}")
        super().__init__(sorted(set(text)), specials=())

    @property
    def chars(self):
        """The characters, in id order."""
        return self.itos

    def __repr__(self):
        return f"CharVocab(V={len(self)}, chars={''.join(self.chars)!r})"

    def encode(self, text):
        """str (length L) -> int64 array (L,) of ids. Raises ValueError on unknown characters."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        try:
            return np.fromiter((self.stoi[c] for c in text), dtype=np.int64, count=len(text))
        except KeyError as exc:
            raise ValueError(f"text contains the character {exc.args[0]!r}, which is not in the vocabulary {self!r}") from None

    def decode(self, ids):
        """Sequence of ids (list, NumPy array or 1-D tensor) -> str."""
        return "".join(super().decode(ids))

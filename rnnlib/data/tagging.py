"""Right-context tagging: a sequence-labelling task whose labels depend on *future* tokens.

Every sentence is a stream of filler words with a few *mentions* in it. A mention is an
ambiguous name (``jordan``, ``paris``, ``victoria`` ... each can name a person, a place or a
company), then up to ``max_gap - 1`` neutral words (``then``, ``again`` ...), then a *cue* word
that reveals the type::

    the news : jordan then said ...      jordan -> PER
    the news : jordan flooded ...        jordan -> LOC
    the news : jordan again hired ...    jordan -> ORG

The tag of a name is its type (PER, LOC, ORG); every other token is tagged O. By construction
the type of each mention is drawn uniformly and independently of everything before it, and the
name and the neutral words are drawn independently of the type: **no function of the tokens up
to and including the name predicts its tag better than chance (1/3)**, while the cue word at
most ``max_gap`` tokens later determines it exactly. A left-to-right tagger is therefore at
chance on names whatever its size; a bidirectional one can be perfect.

Seeded by a NumPy ``Generator`` (or an int seed); no download.
"""

from dataclasses import dataclass

import numpy as np

from rnnlib.validate import check_number, check_positive_int, check_rng

__all__ = ["TAG_NAMES", "TaggingData", "right_context_tagging", "tagging_vocab"]

TAG_NAMES = ("O", "PER", "LOC", "ORG")
NAMES = ("jordan", "paris", "victoria", "georgia", "austin", "chelsea", "florence", "sydney", "phoenix", "madison")
CUES = {
    "PER": ("said", "smiled", "sang"),
    "LOC": ("flooded", "froze", "borders"),
    "ORG": ("hired", "merged", "sued"),
}
NEUTRAL = ("then", "again", "also", "suddenly")
FILLERS = ("the", "news", ":", "today", "and", "we", "heard", "that", "in", "yesterday", "so", "it", "was", "late")


def tagging_vocab():
    """The fixed vocabulary: fillers, neutral words, names, then the cue words of PER, LOC, ORG."""
    cues = [word for tag in TAG_NAMES[1:] for word in CUES[tag]]
    return list(FILLERS) + list(NEUTRAL) + list(NAMES) + cues


@dataclass
class TaggingData:
    """A batch of tagged sentences.

    Attributes:
        tokens: int64 (n, T) token indices into ``vocab``.
        tags: int64 (n, T) tag indices into ``tag_names`` (0 = O).
        is_name: bool (n, T), True at the ambiguous name tokens (where the task is hard).
        vocab: list of words; tag_names: tuple of tag names.
    """

    tokens: np.ndarray
    tags: np.ndarray
    is_name: np.ndarray
    vocab: list
    tag_names: tuple = TAG_NAMES

    def decode(self, i):
        """Sentence ``i`` as ``word/TAG`` pairs (``/O`` omitted)."""
        words = []
        for token, tag in zip(self.tokens[i], self.tags[i]):
            word = self.vocab[int(token)]
            words.append(word if tag == 0 else f"{word}/{self.tag_names[int(tag)]}")
        return " ".join(words)


def right_context_tagging(n, T=20, rng=0, max_gap=2, mention_rate=0.25):
    """Generate ``n`` sentences of length ``T`` for right-context tagging.

    At each free position a mention starts with probability ``mention_rate`` (if it fits before
    the end): name, ``gap - 1`` neutral words with gap uniform in 1..``max_gap``, then the cue
    (so the cue is ``gap`` tokens after the name). Otherwise a filler word is placed.

    Args:
        n: number of sentences; T: tokens per sentence (>= max_gap + 1).
        rng: a ``numpy.random.Generator`` or an int seed.
        max_gap: the largest distance from a name to its cue (1 = the very next word).
        mention_rate: probability that a mention starts at a free position.

    Returns:
        :class:`TaggingData`.
    """
    check_positive_int("n", n)
    check_positive_int("T", T)
    check_positive_int("max_gap", max_gap)
    if T < max_gap + 1:
        raise ValueError(f"T must be at least max_gap + 1 = {max_gap + 1} so that a mention fits, got {T}")
    check_number("mention_rate", mention_rate, 0, 1, low_open=True)
    rng = check_rng(rng)

    vocab = tagging_vocab()
    index = {word: i for i, word in enumerate(vocab)}
    fillers = np.array([index[w] for w in FILLERS])
    neutral = np.array([index[w] for w in NEUTRAL])
    names = np.array([index[w] for w in NAMES])
    cues = {tag: np.array([index[w] for w in CUES[TAG_NAMES[tag]]]) for tag in (1, 2, 3)}

    tokens = np.empty((n, T), dtype=np.int64)
    tags = np.zeros((n, T), dtype=np.int64)
    for i in range(n):
        t = 0
        while t < T:
            gap = int(rng.integers(1, max_gap + 1))
            if t + gap < T and rng.random() < mention_rate:
                # The type is drawn here, independently of the past; the name and the neutral
                # words are drawn independently of the type. Only the cue depends on it.
                tag = int(rng.integers(1, 4))
                tokens[i, t] = rng.choice(names)
                tags[i, t] = tag
                tokens[i, t + 1 : t + gap] = rng.choice(neutral, size=gap - 1)
                tokens[i, t + gap] = rng.choice(cues[tag])
                t += gap + 1
            else:
                tokens[i, t] = rng.choice(fillers)
                t += 1
    is_name = np.isin(tokens, names)
    return TaggingData(tokens=tokens, tags=tags, is_name=is_name, vocab=vocab)

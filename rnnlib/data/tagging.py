"""Sequence-labelling tasks whose labels depend on the right context, the left, or both.

Three generators, all seeded by a NumPy ``Generator`` (or an int seed), no download:

* :func:`right_context_tagging`: labels that only *future* tokens reveal (below);
* :class:`TagGrammar` and :func:`grammar_tagging`: English-like sentences from a small
  probabilistic grammar, tagged with parts of speech; ambiguous words (``light``, ``watch``,
  ``that``) are resolved by the words before them, after them, or both, and the best possible
  tagger for any amount of context is computable exactly;
* :func:`match_tagging`: a label that is the *equality* of the left and the right neighbour,
  which needs both sides combined, not added.

**Right-context tagging.** Every sentence is a stream of filler words with a few *mentions* in
it. A mention is an ambiguous name (``jordan``, ``paris``, ``victoria`` ... each can name a
person, a place or a company), then up to ``max_gap - 1`` neutral words (``then``, ``again``
...), then a *cue* word that reveals the type::

    the news : jordan then said ...      jordan -> PER
    the news : jordan flooded ...        jordan -> LOC
    the news : jordan again hired ...    jordan -> ORG

The tag of a name is its type (PER, LOC, ORG); every other token is tagged O. By construction
the type of each mention is drawn uniformly and independently of everything before it, and the
name and the neutral words are drawn independently of the type: **no function of the tokens up
to and including the name predicts its tag better than chance (1/3)**, while the cue word at
most ``max_gap`` tokens later determines it exactly. A left-to-right tagger is therefore at
chance on names whatever its size; a bidirectional one can be perfect.
"""

from dataclasses import dataclass

import numpy as np

from rnnlib.validate import check_number, check_positive_int, check_rng

__all__ = [
    "TAG_NAMES",
    "TaggingData",
    "right_context_tagging",
    "tagging_vocab",
    "TagGrammar",
    "ENGLISH_GRAMMAR",
    "grammar_tagging",
    "MATCH_TAG_NAMES",
    "match_tagging",
]

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
        ambiguous: bool (n, T), True at the tokens that can take more than one tag (the names of
            :func:`right_context_tagging`, the ambiguous words of a :class:`TagGrammar`): where
            the task is hard.
        vocab: list of words; tag_names: tuple of tag names.
    """

    tokens: np.ndarray
    tags: np.ndarray
    ambiguous: np.ndarray
    vocab: list
    tag_names: tuple = TAG_NAMES

    def decode(self, i):
        """Sentence ``i`` as ``word/TAG`` pairs (``/O`` omitted)."""
        words = []
        for token, tag in zip(self.tokens[i], self.tags[i]):
            word, name = self.vocab[int(token)], self.tag_names[int(tag)]
            words.append(word if name == "O" else f"{word}/{name}")
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
    return TaggingData(tokens=tokens, tags=tags, ambiguous=np.isin(tokens, names), vocab=vocab)


# ----------------------------------------------------------------------------------------------
# A small English grammar: tags that the left context, the right context, or both reveal.


class TagGrammar:
    r"""A probabilistic finite-state grammar that generates tagged sentences: an HMM whose states carry tags.

    Each state emits one word, drawn uniformly from the words of its tag, then moves to a next
    state with the probabilities given. Several states may share a tag (the determiner of a
    subject and of an object), and a word may belong to several tags (``light`` is an adjective,
    a noun or a verb): its tag is then revealed by the words around it, before or after.

    Because the grammar is a hidden Markov model with transition matrix :math:`A` and emission
    matrix :math:`B`, the best possible tagger is computable exactly (forward-backward,
    Rabiner 1989): the posterior of the state at :math:`t` given the words up to :math:`t + d` is

    .. math::

        p(s_t \mid x_{1..t+d}) \propto \alpha_t(s_t)\, \beta^{(t+d)}_t(s_t), \qquad
        \alpha_t = (\alpha_{t-1} A) \odot B_{:, x_t}, \qquad
        \beta^{(u)}_{t} = A\,(B_{:, x_{t+1}} \odot \beta^{(u)}_{t+1}),\ \beta^{(u)}_u = 1,

    and the tag posterior sums it over the states of each tag. :meth:`tag_posteriors` gives it
    for a causal reader (:math:`d = 0`), for a reader that waits :math:`d` words, and for one that
    sees the whole sentence: the accuracy ceilings of one-directional, delayed and bidirectional
    taggers on data from this grammar.

    Args:
        states: ``{name: (tag, {next state name: probability})}``; each row of probabilities
            sums to 1. The state named ``start`` begins every sentence's history: the first
            word is emitted by a state drawn from ``start``'s transitions.
        words: ``{tag: [words]}`` for every tag used by a state.
        start: name of the state before the first word.
    """

    def __init__(self, states, words, start="."):
        if start not in states:
            raise ValueError(f"start must name a state, got {start!r}; states: {sorted(states)}")
        self.state_names = list(states)
        self.tag_names = tuple(dict.fromkeys(tag for tag, _ in states.values()))
        missing = [tag for tag in self.tag_names if not words.get(tag)]
        if missing:
            raise ValueError(f"words must list at least one word for every tag, got none for {missing}")
        self.vocab = sorted({word for tag in self.tag_names for word in words[tag]})
        S, V = len(self.state_names), len(self.vocab)
        self.transitions = np.zeros((S, S))  # A[s, s'] = p(s' | s)
        self.emissions = np.zeros((S, V))  # B[s, w] = p(w | s)
        self.state_tags = np.zeros(S, dtype=np.int64)
        for i, (name, (tag, following)) in enumerate(states.items()):
            for nxt, p in following.items():
                if nxt not in states:
                    raise ValueError(f"states[{name!r}] moves to an unknown state {nxt!r}")
                self.transitions[i, self.state_names.index(nxt)] = p
            self.state_tags[i] = self.tag_names.index(tag)
            for word in words[tag]:
                self.emissions[i, self.vocab.index(word)] = 1.0 / len(words[tag])
        if not np.allclose(self.transitions.sum(axis=1), 1.0):
            bad = [n for n, row in zip(self.state_names, self.transitions.sum(axis=1)) if not np.isclose(row, 1.0)]
            raise ValueError(f"states must have next-state probabilities that sum to 1, got other sums for {bad}")
        self.initial = self.transitions[self.state_names.index(start)]
        # a word is ambiguous when states of more than one tag can emit it
        tags_of_word = [{int(t) for t in self.state_tags[self.emissions[:, w] > 0]} for w in range(V)]
        self.ambiguous_words = np.array([len(tags) > 1 for tags in tags_of_word])

    def sample(self, n, T, rng):
        """``n`` word sequences of length ``T``, each starting at the beginning of a sentence.

        Args:
            n: number of sequences; T: words per sequence (a sequence may end mid-sentence).
            rng: a ``numpy.random.Generator`` or an int seed.

        Returns:
            :class:`TaggingData` with the grammar's ``vocab`` and ``tag_names``; ``ambiguous``
            marks the words that more than one tag can emit.
        """
        check_positive_int("n", n)
        check_positive_int("T", T)
        rng = check_rng(rng)
        cumulative_transitions = np.cumsum(self.transitions, axis=1)
        cumulative_emissions = np.cumsum(self.emissions, axis=1)
        states = np.empty((n, T), dtype=np.int64)
        tokens = np.empty((n, T), dtype=np.int64)
        state = np.searchsorted(np.cumsum(self.initial), rng.random(n), side="right")
        for t in range(T):
            states[:, t] = state
            # inverse-CDF sampling of one word per row, then of the next state
            tokens[:, t] = (cumulative_emissions[state] <= rng.random(n)[:, None]).sum(axis=1)
            state = (cumulative_transitions[state] <= rng.random(n)[:, None]).sum(axis=1)
        return TaggingData(tokens=tokens, tags=self.state_tags[states], ambiguous=self.ambiguous_words[tokens],
                           vocab=list(self.vocab), tag_names=self.tag_names)

    def tag_posteriors(self, tokens, lookahead=None):
        """The exact tag posteriors :math:`p(\\mathrm{tag}_t \\mid x_{1..t+d})`: see the class docstring.

        Args:
            tokens: int (n, T) word ids into ``vocab``.
            lookahead: d, the number of words after ``t`` that the reader has seen: 0 for a
                causal (left-to-right) reader, ``None`` for the whole sequence.

        Returns:
            float64 (n, T, K) posteriors over ``tag_names``; ``argmax(-1)`` is the tagger with the
            highest expected accuracy among all taggers that see the same words.
        """
        tokens = np.asarray(tokens)
        if tokens.ndim != 2 or not np.issubdtype(tokens.dtype, np.integer):
            raise ValueError(f"tokens must be an integer array of shape (n, T), got {tokens.dtype} {tokens.shape}")
        if tokens.size and (tokens.min() < 0 or tokens.max() >= len(self.vocab)):
            raise ValueError(f"tokens must be word ids in [0, {len(self.vocab) - 1}], got {tokens.min()}..{tokens.max()}")
        if lookahead is not None:
            check_positive_int("lookahead", lookahead, allow_zero=True)
        n, T = tokens.shape
        likelihood = self.emissions[:, tokens].transpose(1, 2, 0)  # (n, T, S): p(x_t | s)
        alpha = np.empty((n, T, self.transitions.shape[0]))
        forward = self.initial * likelihood[:, 0]
        for t in range(T):
            if t > 0:
                # alpha_t = (alpha_{t-1} A) * B[:, x_t], normalised at every step
                forward = (alpha[:, t - 1] @ self.transitions) * likelihood[:, t]
            alpha[:, t] = forward / forward.sum(axis=1, keepdims=True)

        def backward_step(beta, u):
            # beta_{u-1} = A (B[:, x_u] * beta_u), normalised
            beta = (likelihood[:, u] * beta) @ self.transitions.T
            return beta / beta.sum(axis=1, keepdims=True)

        betas = np.ones_like(alpha)
        if lookahead is None or lookahead >= T - 1:  # the whole sequence: one backward pass
            for t in range(T - 2, -1, -1):
                betas[:, t] = backward_step(betas[:, t + 1], t + 1)
        else:  # a window of d words after each t: its own backward pass
            for t in range(T):
                for u in range(min(t + lookahead, T - 1), t, -1):
                    betas[:, t] = backward_step(betas[:, t], u)
        joint = alpha * betas
        state_posterior = joint / joint.sum(axis=2, keepdims=True)
        tag_posterior = np.zeros((n, T, len(self.tag_names)))
        for k in range(len(self.tag_names)):
            tag_posterior[..., k] = state_posterior[..., self.state_tags == k].sum(axis=-1)
        return tag_posterior


#: Sentences such as "the light boat found a dog near the park ." and "watch the old train .":
#: subject (a determiner, adjectives and a noun, or a pronoun, or a bare noun), verb, then an
#: object, a preposition or an adverb, then "." (which also starts the next sentence).
#: Ambiguous words: ``light`` (adjective, noun or verb), ``watch``, ``book``, ``train``, ``plant``,
#: ``park`` (noun or verb), ``cold`` (adjective or noun), ``fast`` (adjective or adverb),
#: ``round`` (adjective or preposition) and ``that`` (determiner or pronoun).
ENGLISH_GRAMMAR = TagGrammar(
    states={
        ".": (".", {"subject det": 0.35, "subject pron": 0.2, "subject noun": 0.2, "verb": 0.25}),
        "subject det": ("DET", {"subject adj": 0.4, "subject noun": 0.6}),
        "subject adj": ("ADJ", {"subject adj": 0.1, "subject noun": 0.9}),
        "subject noun": ("NOUN", {"verb": 1.0}),
        "subject pron": ("PRON", {"verb": 0.8, "adverb before verb": 0.2}),
        "adverb before verb": ("ADV", {"verb": 1.0}),
        "verb": ("VERB", {"object det": 0.5, "object pron": 0.15, "prep": 0.2, "adverb": 0.15}),
        "object det": ("DET", {"object adj": 0.4, "object noun": 0.6}),
        "object adj": ("ADJ", {"object adj": 0.1, "object noun": 0.9}),
        "object noun": ("NOUN", {".": 0.7, "prep": 0.3}),
        "object pron": ("PRON", {".": 0.8, "prep": 0.2}),
        "prep": ("PREP", {"object det": 0.8, "object pron": 0.2}),
        "adverb": ("ADV", {".": 0.7, "prep": 0.3}),
    },
    words={
        ".": ["."],
        "DET": ["the", "a", "every", "this", "that"],
        "ADJ": ["old", "green", "small", "quiet", "light", "fast", "round", "cold"],
        "NOUN": ["dog", "city", "river", "boat", "fire", "watch", "light", "book", "train", "plant", "park", "cold"],
        "VERB": ["sees", "likes", "found", "left", "watch", "book", "train", "plant", "park", "light"],
        "PRON": ["they", "we", "you", "she", "that"],
        "PREP": ["in", "near", "over", "round"],
        "ADV": ["fast", "often", "never", "soon", "again"],
    },
)


def grammar_tagging(n, T=24, rng=0, grammar=None):
    """``n`` tagged word sequences of length ``T`` from ``grammar`` (default :data:`ENGLISH_GRAMMAR`).

    Shorthand for ``grammar.sample(n, T, rng)``; see :class:`TagGrammar`.
    """
    grammar = ENGLISH_GRAMMAR if grammar is None else grammar
    if not isinstance(grammar, TagGrammar):
        raise TypeError(f"grammar must be a TagGrammar or None, got {type(grammar).__name__}")
    return grammar.sample(n, T, rng)


# ----------------------------------------------------------------------------------------------
# A label that needs both sides at once.

MATCH_TAG_NAMES = ("O", "SAME", "DIFFERENT")
MATCH_MARKER = "="
MATCH_WORDS = ("red", "green", "blue", "gold", "grey", "pink", "teal", "plum")


def match_tagging(n, T=20, rng=0, n_words=4, marker_rate=0.3):
    """Sequences of words with markers ``=``; a marker is tagged SAME if its two neighbours are equal.

    Every other token is tagged O. The word after a marker repeats the word before it with
    probability 1/2, and is otherwise one of the ``n_words - 1`` other words, so that neither
    side alone says anything about the tag (each is at chance, 1/2): the tag is the *equality*
    of the left and the right neighbour. A tagger whose output is a sum of a function of the
    left context and a function of the right context, as a single bidirectional layer with a
    linear read-out is, cannot compute it; a second layer that combines both directions can.

    Args:
        n: number of sequences; T: tokens per sequence (>= 3).
        rng: a ``numpy.random.Generator`` or an int seed.
        n_words: how many of ``MATCH_WORDS`` are used (2 to 8); the marker is one more token.
        marker_rate: probability that a marker is placed at a free position (markers are never
            adjacent and never first or last).

    Returns:
        :class:`TaggingData` with vocabulary ``MATCH_WORDS[:n_words]`` and ``"="``, and tags
        :data:`MATCH_TAG_NAMES`; ``ambiguous`` marks the markers.
    """
    check_positive_int("n", n)
    check_positive_int("T", T)
    check_positive_int("n_words", n_words)
    if T < 3:
        raise ValueError(f"T must be at least 3 so that a marker has two neighbours, got {T}")
    if not 2 <= n_words <= len(MATCH_WORDS):
        raise ValueError(f"n_words must be in 2..{len(MATCH_WORDS)} (2 so that neighbours can differ), got {n_words}")
    if not 0.0 < marker_rate <= 1.0:
        raise ValueError(f"marker_rate must be in (0, 1], got {marker_rate!r}")
    rng = check_rng(rng)
    marker = n_words
    tokens = rng.integers(0, n_words, size=(n, T))
    tags = np.zeros((n, T), dtype=np.int64)
    for i in range(n):
        t = 1
        while t < T - 1:
            if rng.random() < marker_rate:
                tokens[i, t] = marker
                same = rng.random() < 0.5
                # the right neighbour: the left one, or one of the others uniformly
                shift = 0 if same else int(rng.integers(1, n_words))
                tokens[i, t + 1] = (tokens[i, t - 1] + shift) % n_words
                tags[i, t] = 1 if same else 2
                t += 2  # the right neighbour is a word, never a marker
            t += 1
    vocab = list(MATCH_WORDS[:n_words]) + [MATCH_MARKER]
    return TaggingData(tokens=tokens.astype(np.int64), tags=tags, ambiguous=tokens == marker, vocab=vocab,
                       tag_names=MATCH_TAG_NAMES)

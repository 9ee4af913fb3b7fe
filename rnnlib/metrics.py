"""Evaluation metrics shared by the chapters.

Functions here take plain numbers, NumPy arrays or torch tensors and return Python floats.
Append new metrics below (with a docstring giving the formula, and a unit test).
"""

import math
import re

import numpy as np

__all__ = [
    "perplexity",
    "bits_per_token",
    "accuracy",
    "bias_scores",
    "bias_amplification",
    "parity_measures",
    "corpus_bleu",
    "object_scores",
    "anti_diagonal_share",
    "words",
    "known_word_share",
    "speaker_lines",
    "bits_per_token_by_class",
]


def perplexity(mean_nll):
    """Perplexity from the mean negative log-likelihood in nats: :math:`\\exp(\\bar{\\ell})`."""
    return math.exp(float(mean_nll))


def bits_per_token(mean_nll):
    """Bits per token (bits per character for a character model): :math:`\\bar{\\ell} / \\ln 2`."""
    return float(mean_nll) / math.log(2.0)


def accuracy(predictions, targets, mask=None):
    """Fraction of positions where ``predictions == targets`` (only where ``mask`` is True).

    Shapes: ``predictions`` and ``targets`` any equal shape; ``mask`` the same shape or None.
    """
    predictions = np.asarray(_to_numpy(predictions))
    targets = np.asarray(_to_numpy(targets))
    if predictions.shape != targets.shape:
        raise ValueError(
            f"predictions must have the same shape as targets {targets.shape}, got {predictions.shape}"
        )
    correct = predictions == targets
    if mask is not None:
        mask = np.asarray(_to_numpy(mask), dtype=bool)
        if mask.shape != targets.shape:
            raise ValueError(f"mask must have shape {targets.shape}, got {mask.shape}")
        if not mask.any():
            raise ValueError("mask must keep at least one position, got an all-False mask")
        return float(correct[mask].mean())
    if correct.size == 0:
        raise ValueError("predictions must not be empty")
    return float(correct.mean())


def _to_numpy(x):
    return x.detach().cpu().numpy() if hasattr(x, "detach") else x


def bias_scores(counts):
    """Gender ratios per item (Zhao et al. 2017): :math:`b(o, g) = c(o, g) / \\sum_{g'} c(o, g')`.

    Args:
        counts: array-like of shape ``(O, G)`` (items by genders, non-negative counts), or a dict
            ``{item: {gender: count}}`` (items in insertion order, genders sorted by name).

    Returns:
        a float64 array of shape ``(O, G)`` whose rows sum to 1.
    """
    table = _count_table("counts", counts)
    totals = table.sum(axis=1)
    if np.any(totals == 0):
        empty = np.flatnonzero(totals == 0).tolist()
        raise ValueError(f"counts must have at least one count per item, got all-zero rows {empty}")
    return table / totals[:, None]


def bias_amplification(train_counts, predicted_counts):
    """Mean bias amplification of Zhao et al. (2017), "Men also like shopping".

    .. math::

        \\mathrm{BA} = \\frac{1}{|O|} \\sum_{g} \\sum_{o \\,:\\, b^*(o, g) > 1/|G|}
        \\bigl(\\tilde b(o, g) - b^*(o, g)\\bigr)

    where :math:`b^*` are the :func:`bias_scores` of the training counts (how often item
    :math:`o`, e.g. an occupation, co-occurs with gender :math:`g` in the training data) and
    :math:`\\tilde b` those of the model's predictions on a test set. Only the gender each item
    is biased towards in training counts; positive values mean the predictions are more skewed
    than the training data, 0 that they reproduce it, negative that they are less skewed.

    Args:
        train_counts: ``(O, G)`` array or ``{item: {gender: count}}`` dict of the training data
            (see :func:`bias_scores`).
        predicted_counts: the same for the model's predictions, with the same items and genders.

    Returns:
        the amplification, a float.
    """
    train = _count_table("train_counts", train_counts)
    predicted = _count_table("predicted_counts", predicted_counts)
    if isinstance(train_counts, dict) != isinstance(predicted_counts, dict):
        raise TypeError(
            "train_counts and predicted_counts must both be dicts or both be arrays, got "
            f"{type(train_counts).__name__} and {type(predicted_counts).__name__}"
        )
    if isinstance(train_counts, dict):
        train_keys = (list(train_counts), sorted({g for v in train_counts.values() for g in v}))
        pred_keys = (list(predicted_counts), sorted({g for v in predicted_counts.values() for g in v}))
        if sorted(train_keys[0]) != sorted(pred_keys[0]) or train_keys[1] != pred_keys[1]:
            raise ValueError(
                "predicted_counts must have the same items and genders as train_counts, got items "
                f"{pred_keys[0]} and genders {pred_keys[1]}, expected {train_keys[0]} and {train_keys[1]}"
            )
        predicted = _count_table("predicted_counts", {k: predicted_counts[k] for k in train_counts})
    if predicted.shape != train.shape:
        raise ValueError(f"predicted_counts must have shape {train.shape} like train_counts, got {predicted.shape}")
    b_train = bias_scores(train)
    b_pred = bias_scores(predicted)
    biased = b_train > 1.0 / train.shape[1]
    return float((b_pred - b_train)[biased].sum() / train.shape[0])


def parity_measures(train_share, predicted_share):
    """Symmetric measures of a group share per item: how far from parity, and how much it follows the data.

    Bias amplification (:func:`bias_amplification`) counts only the group each item leans towards
    in training, so a model that over-corrects (leans the other way) scores lower, i.e. "better",
    than one at parity. These measures treat both directions alike. For per-item shares
    :math:`s_o` of one group (e.g. the share of female pronouns for occupation :math:`o`) and the
    training shares :math:`b_o`:

    .. math::

        d = \\frac{1}{|O|} \\sum_o \\bigl|s_o - \\tfrac12\\bigr|, \\qquad
        \\beta = \\frac{\\sum_o (b_o - \\bar b)(s_o - \\bar s)}{\\sum_o (b_o - \\bar b)^2}

    :math:`d` is 0 when every item is at parity, whichever way the errors go; the least-squares slope
    :math:`\\beta` is 1 when the predictions reproduce the training shares, above 1 when they
    amplify them, 0 when the item no longer matters, and negative when the stereotype is flipped.

    Args:
        train_share: array-like of shape ``(O,)``, the training shares, in [0, 1], not all equal.
        predicted_share: array-like of shape ``(O,)``, the model's shares, in [0, 1].

    Returns:
        a dict with ``"distance"`` (:math:`d`), ``"slope"`` (:math:`\\beta`) and ``"mean"`` (the mean
        predicted share), as floats.
    """
    train = np.asarray(_to_numpy(train_share), dtype=float)
    predicted = np.asarray(_to_numpy(predicted_share), dtype=float)
    for name, share in (("train_share", train), ("predicted_share", predicted)):
        if share.ndim != 1 or share.size < 2:
            raise ValueError(f"{name} must have shape (O,) with O >= 2 items, got shape {share.shape}")
        if not np.all((share >= 0) & (share <= 1)):  # written so that NaN fails too
            raise ValueError(f"{name} must hold shares in [0, 1], got {share.tolist()}")
    if predicted.shape != train.shape:
        raise ValueError(f"predicted_share must have shape {train.shape} like train_share, got {predicted.shape}")
    centred = train - train.mean()
    if not np.any(centred):
        raise ValueError(f"train_share must not be the same for every item (the slope is undefined), got {train.tolist()}")
    slope = float(centred @ (predicted - predicted.mean()) / (centred @ centred))
    return {"distance": float(np.abs(predicted - 0.5).mean()), "slope": slope, "mean": float(predicted.mean())}


def _count_table(name, counts):
    """An ``(O, G)`` float array of non-negative counts from an array or a nested dict."""
    if isinstance(counts, dict):
        if not counts:
            raise ValueError(f"{name} must hold at least one item, got an empty dict")
        genders = sorted({g for row in counts.values() for g in row})
        table = np.array([[float(row.get(g, 0)) for g in genders] for row in counts.values()])
    else:
        table = np.asarray(_to_numpy(counts), dtype=float)
    if table.ndim != 2 or table.shape[0] < 1 or table.shape[1] < 2:
        raise ValueError(f"{name} must have shape (O, G) with O >= 1 items and G >= 2 genders, got {table.shape}")
    if not np.all(np.isfinite(table)) or np.any(table < 0):
        raise ValueError(f"{name} must hold finite non-negative counts, got {table.tolist()}")
    return table


def corpus_bleu(hypotheses, references):
    """Corpus BLEU-4 (Papineni et al. 2002) with sacrebleu's standard settings (Post 2018), 0..100.

    BLEU = BP * exp(sum_{n=1..4} log(p_n) / 4), p_n the clipped n-gram precisions over the whole
    corpus, BP = min(1, exp(1 - r / c)) the brevity penalty (r, c the reference and hypothesis
    lengths). ``hypotheses``: N strings (or word lists); ``references``: N strings (one reference
    each) or N lists of strings (several references each, the same number for every hypothesis).
    """
    import sacrebleu

    def as_text(x):
        return x if isinstance(x, str) else " ".join(x)

    hypotheses = [as_text(h) for h in hypotheses]
    if len(references) != len(hypotheses):
        raise ValueError(f"references must hold one entry per hypothesis ({len(hypotheses)}), got {len(references)}")
    if not hypotheses:
        raise ValueError("hypotheses must not be empty, got 0 hypotheses")
    if all(isinstance(r, str) for r in references):
        streams = [[as_text(r) for r in references]]
    else:
        counts = {len(r) for r in references}
        if len(counts) != 1:
            raise ValueError(f"references must give every hypothesis the same number of references, got {sorted(counts)}")
        streams = [[as_text(r[k]) for r in references] for k in range(counts.pop())]
    return float(sacrebleu.corpus_bleu(hypotheses, streams).score)


def object_scores(predicted, truth, well_formed=None):
    """Compare, example by example, the objects a model named with the true ones.

    ``predicted`` and ``truth``: one sequence of objects per example (any hashable objects, in
    their order, e.g. attribute triples read left to right); ``well_formed``: one bool per example
    (did the output parse cleanly; all True when None). Counted over the whole corpus
    (micro-averaged):

    - objects: a named object matches a true object equal to it (multisets: each true object
      matches once); precision = matches / objects named, recall = matches / true objects,
      F1 = 2PR / (P + R);
    - relation accuracy: the fraction of the true relations "A before B" (A, B neighbours) that
      the prediction states;
    - exact: the fraction of examples whose objects are exactly the true ones in the true order
      (and well formed);
    - well_formed: the fraction of well-formed examples.

    Returns a dict of floats with the keys object_precision, object_recall, object_f1,
    relation_accuracy, exact and well_formed.
    """
    from collections import Counter

    well_formed = [True] * len(predicted) if well_formed is None else list(well_formed)
    if not len(predicted) == len(truth) == len(well_formed):
        raise ValueError(f"truth and well_formed must hold one entry per prediction ({len(predicted)}), "
                         f"got {len(truth)} and {len(well_formed)}")
    if not predicted:
        raise ValueError("predicted must not be empty, got 0 examples")
    named = true = matched = true_relations = matched_relations = exact = 0
    for said, real, ok in zip(predicted, truth, well_formed):
        said, real = list(said), list(real)
        named += len(said)
        true += len(real)
        matched += sum((Counter(said) & Counter(real)).values())
        relations = Counter(zip(real, real[1:]))
        true_relations += sum(relations.values())
        matched_relations += sum((Counter(zip(said, said[1:])) & relations).values())
        exact += said == real and ok
    precision = matched / named if named else 0.0
    recall = matched / true if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "object_precision": precision,
        "object_recall": recall,
        "object_f1": f1,
        "relation_accuracy": matched_relations / true_relations if true_relations else float("nan"),
        "exact": exact / len(predicted),
        "well_formed": sum(well_formed) / len(predicted),
    }


def anti_diagonal_share(weights, src_lengths, tolerance=1):
    r"""Share of output steps whose most-attended source position lies on the anti-diagonal.

    For a reversal the output step t (0-based) writes the source letter at :math:`S - 1 - t`;
    the step counts as aligned when :math:`|\arg\max_j \alpha_{tj} - (S - 1 - t)| \le` ``tolerance``.
    Only the first S output steps of each sequence are counted (the letters; not ``<eos>``).

    Args:
        weights: attention weights (N, T, S_max), NumPy or torch, with T >= the longest source.
        src_lengths: the source lengths S (N,).
        tolerance: how many positions off the anti-diagonal still count (0 = exactly on it).

    Returns:
        float in [0, 1]: aligned steps / counted steps.
    """
    weights = np.asarray(_to_numpy(weights))
    lengths = np.asarray(_to_numpy(src_lengths))
    if weights.ndim != 3:
        raise ValueError(f"weights must have shape (N, T, S), got {weights.shape}")
    N, T, S = weights.shape
    if lengths.shape != (N,) or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(f"src_lengths must be integers of shape ({N},), got {lengths.dtype} {lengths.shape}")
    if lengths.min() < 1 or lengths.max() > min(T, S):
        raise ValueError(f"src_lengths must lie in [1, {min(T, S)}] (weights {weights.shape}), got [{lengths.min()}, {lengths.max()}]")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, np.integer)) or tolerance < 0:
        raise ValueError(f"tolerance must be a non-negative int, got {tolerance!r}")
    aligned = counted = 0
    for alpha, length in zip(weights, lengths.tolist()):
        looked_at = alpha[:length, :length].argmax(axis=1)  # (S,): the most-attended position of each step
        reversed_position = length - 1 - np.arange(length)
        aligned += int((np.abs(looked_at - reversed_position) <= tolerance).sum())
        counted += length
    return aligned / counted


# ----------------------------------------------------------------------------------------------
# What generated text looks like (chapter 1): real words, and the layout of a play.

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)*")
_SPEAKER_LINE = re.compile(r"^[A-Z][A-Z'-]*(?: [A-Z][A-Z'-]*)*:$", re.MULTILINE)


def words(text):
    """The words of ``text``, lower-cased: runs of letters, with inner apostrophes (``o'er``)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return [w.lower() for w in _WORD.findall(text)]


def known_word_share(text, vocabulary):
    """Share of the words of ``text`` (see :func:`words`) that belong to ``vocabulary``.

    ``vocabulary`` is a set of lower-case words, e.g. ``set(words(training_text))``. For generated
    text this measures how many of its words are real ones; a word cut off at the end of a sample
    counts like any other. Raises ValueError when ``text`` has no word.
    """
    if not isinstance(vocabulary, (set, frozenset)):
        raise TypeError(f"vocabulary must be a set of words, got {type(vocabulary).__name__}")
    found = words(text)
    if not found:
        raise ValueError(f"text must contain at least one word, got {text[:40]!r}")
    return sum(w in vocabulary for w in found) / len(found)


def speaker_lines(text):
    """The lines of ``text`` that open a speech in the plays' layout: a name in capitals and a colon.

    ``"HAMLET:"`` and ``"FIRST CLOWN:"`` count; ``"Hamlet:"`` and ``"HAMLET: To be"`` do not.
    Returns the list of those lines (its length is the number of speeches).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return _SPEAKER_LINE.findall(text)


def bits_per_token_by_class(nll, classes, names):
    """Bits per token within each class of tokens: :math:`\\frac{1}{|C_k|} \\sum_{t \\in C_k} \\ell_t / \\ln 2`.

    Where a character model loses its bits: e.g. on the closing brackets and quotes of source
    code (:func:`rnnlib.data.python_source.source_structure` labels them).

    Args:
        nll: per-token negative log-likelihoods in nats, any shape (array or tensor).
        classes: integer class ids of the same shape, each in ``0 .. len(names) - 1``.
        names: the class names, indexed by class id.

    Returns:
        ``{name: bits per token}`` for every class, in the order of ``names``; a class with no
        token gets ``nan``.
    """
    nll = np.asarray(_to_numpy(nll), dtype=float)
    classes = np.asarray(_to_numpy(classes))
    if nll.shape != classes.shape:
        raise ValueError(f"classes must have the shape of nll {nll.shape}, got {classes.shape}")
    if classes.size and not np.issubdtype(classes.dtype, np.integer):
        raise TypeError(f"classes must hold integer class ids, got dtype {classes.dtype}")
    if classes.size and (classes.min() < 0 or classes.max() >= len(names)):
        raise ValueError(f"classes must be ids in [0, {len(names) - 1}] (one per name), got {classes.min()}..{classes.max()}")
    return {
        name: bits_per_token(nll[classes == k].mean()) if np.any(classes == k) else float("nan")
        for k, name in enumerate(names)
    }

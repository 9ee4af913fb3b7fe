"""BLEU-4 wrapper and the semantic caption score, on hand-made captions with known answers."""

import math

import pytest

from rnnlib.data.scenes import caption_semantic_scores
from rnnlib.metrics import corpus_bleu, object_scores

SCENE = [("small", "red", "circle"), ("big", "blue", "square")]
TRUE = "a small red circle left of a big blue square"


def test_bleu_perfect_and_disjoint():
    assert corpus_bleu([TRUE, "a big green triangle"], [TRUE, "a big green triangle"]) == pytest.approx(100.0)
    assert corpus_bleu(["x y z w"], ["a b c d"]) == pytest.approx(0.0)


def test_bleu_by_hand():
    # one wrong word in 10: precisions 9/10, 7/9, 5/8, 4/7 for n = 1..4 (n-grams over the third word are lost); equal lengths, BP = 1
    hyp = "a small green circle left of a big blue square"
    expected = 100 * math.exp((math.log(9 / 10) + math.log(7 / 9) + math.log(5 / 8) + math.log(4 / 7)) / 4)
    assert corpus_bleu([hyp], [TRUE]) == pytest.approx(expected, rel=1e-6)
    # word lists and several references are accepted
    assert corpus_bleu([hyp.split()], [[TRUE, hyp]]) == pytest.approx(100.0)


def test_semantic_perfect():
    scores = caption_semantic_scores([TRUE], [SCENE])
    assert scores == {
        "object_precision": 1.0, "object_recall": 1.0, "object_f1": 1.0,
        "relation_accuracy": 1.0, "exact": 1.0, "well_formed": 1.0,
    }


def test_semantic_wrong_colour():
    scores = caption_semantic_scores(["a small green circle left of a big blue square"], [SCENE])
    # one of two objects wrong: P = R = F1 = 1/2; the only relation names the wrong object
    assert scores["object_precision"] == scores["object_recall"] == scores["object_f1"] == 0.5
    assert scores["relation_accuracy"] == 0.0 and scores["exact"] == 0.0 and scores["well_formed"] == 1.0


def test_semantic_order_missing_and_extra():
    swapped = caption_semantic_scores(["a big blue square left of a small red circle"], [SCENE])
    assert swapped["object_f1"] == 1.0 and swapped["relation_accuracy"] == 0.0
    missing = caption_semantic_scores(["a small red circle"], [SCENE])
    assert missing["object_precision"] == 1.0 and missing["object_recall"] == 0.5
    assert missing["object_f1"] == pytest.approx(2 / 3)
    # micro-average over a corpus: 3 of 4 true objects named, 4 named
    corpus = caption_semantic_scores(
        [TRUE + " left of a small red circle", "a big yellow triangle"],
        [SCENE, [("small", "yellow", "triangle")]],
    )
    assert corpus["object_precision"] == pytest.approx(2 / 4) and corpus["object_recall"] == pytest.approx(2 / 3)
    assert corpus["relation_accuracy"] == 1.0


def test_bad_input():
    with pytest.raises(ValueError, match="references"):
        corpus_bleu(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="scenes"):
        caption_semantic_scores(["a"], [])


def test_object_scores_knows_no_grammar():
    """The metric itself compares sequences of any objects; the scene grammar lives in rnnlib.data."""
    scores = object_scores([["a", "b"], ["c"]], [["a", "b"], ["c", "d"]], [True, False])
    assert scores["object_precision"] == 1.0 and scores["object_recall"] == 0.75
    assert scores["relation_accuracy"] == 0.5 and scores["exact"] == 0.5 and scores["well_formed"] == 0.5
    with pytest.raises(ValueError, match="truth and well_formed must hold one entry per prediction"):
        object_scores([["a"]], [])


def test_metrics_does_not_import_the_scenes_grammar():
    import ast
    import pathlib

    import rnnlib.metrics

    tree = ast.parse(pathlib.Path(rnnlib.metrics.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"collections"}

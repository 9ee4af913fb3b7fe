"""The adding problem and delayed recall: shapes, markers, targets, and the constant baseline."""

import numpy as np
import pytest

from rnnlib.data import adding_problem, delayed_recall


def test_adding_problem_shapes_and_dtypes():
    x, y = adding_problem(7, 20, np.random.default_rng(0))
    assert x.shape == (7, 20, 2) and x.dtype == np.float32
    assert y.shape == (7, 1) and y.dtype == np.float32


def test_adding_problem_two_markers_one_in_each_half():
    T = 31
    x, _ = adding_problem(500, T, np.random.default_rng(1))
    markers = x[..., 1]
    assert set(np.unique(markers)) == {0.0, 1.0}
    np.testing.assert_array_equal(markers.sum(axis=1), 2)
    np.testing.assert_array_equal(markers[:, : T // 2].sum(axis=1), 1)
    np.testing.assert_array_equal(markers[:, T // 2 :].sum(axis=1), 1)
    # every position of each half is used (uniform choice), seen over 500 draws
    assert markers[:, : T // 2].any(axis=0).all() and markers[:, T // 2 :].any(axis=0).all()


def test_adding_problem_target_is_sum_of_marked_values():
    x, y = adding_problem(50, 12, np.random.default_rng(2))
    for values, markers, target in zip(x[..., 0], x[..., 1], y[:, 0]):
        marked = values[markers == 1]
        assert len(marked) == 2
        assert target == pytest.approx(marked[0] + marked[1], rel=1e-6)
    assert (x[..., 0] >= 0).all() and (x[..., 0] <= 1).all()


def test_adding_problem_constant_prediction_mse_is_one_sixth():
    # E[y] = 1 and Var(u1 + u2) = 2/12: predicting 1 (the best constant) gives MSE 1/6
    _, y = adding_problem(200_000, 10, np.random.default_rng(3))
    assert y.mean() == pytest.approx(1.0, abs=0.01)
    assert np.mean((y - 1.0) ** 2) == pytest.approx(1 / 6, rel=0.02)


def test_adding_problem_is_seeded():
    a = adding_problem(5, 10, np.random.default_rng(4))
    b = adding_problem(5, 10, 4)
    c = adding_problem(5, 10, 5)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def test_adding_problem_bad_input():
    with pytest.raises(ValueError, match="T must be >= 2"):
        adding_problem(3, 1, 0)
    with pytest.raises(ValueError, match="n"):
        adding_problem(0, 10, 0)
    with pytest.raises(TypeError, match="rng must be"):
        adding_problem(3, 10, "seed")


def test_delayed_recall_targets_are_delayed_inputs():
    x, y = delayed_recall(4, 30, 5, np.random.default_rng(0))
    assert x.shape == y.shape == (4, 30) and x.dtype == y.dtype == np.int64
    assert set(np.unique(x)) <= {0, 1}
    np.testing.assert_array_equal(y[:, :5], -100)
    np.testing.assert_array_equal(y[:, 5:], x[:, :-5])


def test_delayed_recall_bits_are_balanced_and_bad_input():
    x, _ = delayed_recall(100, 100, 3, 1)
    assert x.mean() == pytest.approx(0.5, abs=0.02)
    with pytest.raises(ValueError, match="T must be greater than delay"):
        delayed_recall(2, 5, 5, 0)

"""rnnlib.viz.draw_unrolled_rnn: the folded cell and its unrolled copies sharing W_ih and W_hh."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from rnnlib.viz import draw_unrolled_rnn  # noqa: E402


@pytest.mark.parametrize("steps, outputs", [(1, True), (4, True), (3, False)])
def test_one_box_per_node_and_one_shared_weight_label_per_arrow(steps, outputs):
    ax = draw_unrolled_rnn(steps, outputs=outputs)
    texts = [t.get_text() for t in ax.texts]
    per_column = 3 if outputs else 2  # x_t, h_t (and y_t)
    assert len(ax.patches) == per_column * (steps + 1) + 1  # + h_0
    assert [f"$x_{t}$" in texts for t in range(1, steps + 1)] == [True] * steps
    assert ("$y_t$" in texts) == outputs
    # the same two weight names label every input and every recurrent arrow: parameter sharing
    assert texts.count("$W_{ih}$") == steps + 1
    assert texts.count("$W_{hh}$") == steps + 1
    plt.close(ax.figure)


def test_draw_unrolled_rnn_rejects_bad_steps():
    with pytest.raises(ValueError, match="steps must be at most 8"):
        draw_unrolled_rnn(9)
    with pytest.raises(TypeError, match="steps must be an int"):
        draw_unrolled_rnn(2.5)


# ---- stacked and bidirectional RNNs (chapter 5) ----

from rnnlib.viz import draw_deep_rnn  # noqa: E402


@pytest.mark.parametrize("steps, num_layers, bidirectional", [(2, 1, False), (4, 1, True), (3, 2, False), (4, 2, True)])
def test_deep_rnn_has_a_node_per_state_and_labels_torch_h_n(steps, num_layers, bidirectional):
    ax = draw_deep_rnn(steps, num_layers, bidirectional)
    directions = 2 if bidirectional else 1
    texts = [t.get_text() for t in ax.texts]
    states = [t for t in texts if "^{(" in t]
    assert len(states) == steps * num_layers * directions
    # h_n holds layer * directions + direction: the forward state at step T, the backward one at step 1
    labels = sorted(t for t in texts if t.startswith("h_n["))
    assert labels == [f"h_n[{k}]" for k in range(num_layers * directions)]
    if bidirectional:
        assert f"$\\overleftarrow{{h}}^{{(1)}}_1$" in texts and f"$\\overrightarrow{{h}}^{{(1)}}_{steps}$" in texts
    plt.close(ax.figure)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [(dict(steps=7), ValueError, "steps must be in 2..6"), (dict(num_layers=4), ValueError, "num_layers must be at most 3"),
     (dict(bidirectional=1), TypeError, "bidirectional must be a bool")],
)
def test_draw_deep_rnn_rejects_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        draw_deep_rnn(**kwargs)


# ---- text coloured by one cell's activation (chapter 4) ----

from rnnlib.viz import plot_text_activation  # noqa: E402


def test_text_activation_draws_one_cell_per_character_and_each_visible_character():
    text = "def f(x):\n    return (x)\n"
    values = [0.5] * len(text)
    ax = plot_text_activation(text, values)
    assert len(ax.patches) == len(text)
    assert "".join(t.get_text() for t in ax.texts) == text.replace(" ", "").replace("\n", "")
    assert ax.get_ylim() == (-3, 0)  # two lines and the empty row after the last newline
    plt.close(ax.figure)


def test_text_activation_rejects_bad_input():
    with pytest.raises(ValueError, match=r"values must have shape \(3,\)"):
        plot_text_activation("abc", [1.0, 2.0])
    with pytest.raises(ValueError, match="limits must be"):
        plot_text_activation("abc", [1.0, 2.0, 3.0], limits=(1, 1))

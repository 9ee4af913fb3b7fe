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

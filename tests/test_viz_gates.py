"""plot_gate_diagram: draws the gates of each cell with their nonlinearities and labels."""

import matplotlib

matplotlib.use("Agg")  # tests only: no display
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from rnnlib.viz import plot_gate_diagram  # noqa: E402


@pytest.mark.parametrize(
    "cell, gates, title",
    [("lstm", ["f", "i", "g", "o"], "i, f, g, o"), ("gru", ["z", "r", "n"], "r, z, n")],
)
def test_gate_diagram_labels(cell, gates, title):
    fig, ax = plt.subplots()
    assert plot_gate_diagram(cell, ax) is ax
    texts = [t.get_text() for t in ax.texts]
    # every gate is labelled, each with one box: sigmoid gates and tanh candidates
    assert [t for t in texts if t in gates] == gates
    boxes = [t for t in texts if t in ("σ", "tanh")]
    expected_boxes = 5 if cell == "lstm" else 3  # the LSTM also squashes c_t before the output gate
    assert len(boxes) == expected_boxes
    assert title in ax.get_title()
    plt.close(fig)


def test_gate_diagram_rejects_unknown_cell():
    with pytest.raises(ValueError, match="cell must be one of 'lstm', 'gru', got 'rnn'"):
        plot_gate_diagram("rnn")

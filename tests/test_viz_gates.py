"""draw_lstm_cell / draw_gru_cell: the gates of each cell, in the order the title states, legible."""

import matplotlib

matplotlib.use("Agg")  # tests only: no display
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from rnnlib.viz import draw_gru_cell, draw_lstm_cell  # noqa: E402

BOOK_WIDTH_PX = 800  # the widest a figure is shown in the book
CELLS = [(draw_lstm_cell, ["i", "f", "g", "o"], "i, f, g, o", 5), (draw_gru_cell, ["r", "z", "n"], "r, z, n", 3)]


@pytest.mark.parametrize("draw, gates, title, n_boxes", CELLS)
def test_gates_drawn_left_to_right_in_the_title_order(draw, gates, title, n_boxes):
    fig, ax = plt.subplots()
    assert draw(ax) is ax
    labels = sorted((t.get_position()[0], t.get_text()) for t in ax.texts if t.get_text() in gates)
    assert [text for _, text in labels] == gates
    assert title in ax.get_title()
    # one box per nonlinearity: sigmoid gates and tanh (the LSTM also squashes c_t before its output)
    assert len([t for t in ax.texts if t.get_text() in ("σ", "tanh")]) == n_boxes
    plt.close(fig)


@pytest.mark.parametrize("draw", [draw_lstm_cell, draw_gru_cell])
def test_text_is_legible_at_the_book_width(draw):
    """Every text is at least 10 px tall when the figure (drawn at 100 dpi, as in the notebooks)
    is shown no wider than the book's column."""
    ax = draw()
    fig = ax.figure
    fig.set_dpi(100)
    fig.canvas.draw()
    width_px = fig.get_tightbbox().width * fig.dpi
    shrink = min(1.0, BOOK_WIDTH_PX / width_px)
    for text in ax.texts + [ax.title]:
        if text.get_text():
            assert text.get_fontsize() * fig.dpi / 72 * shrink >= 10, text.get_text()
    plt.close(fig)

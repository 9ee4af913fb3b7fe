"""rnnlib.viz.draw_bptt_graph: forward arrows, gradient paths, and where truncation cuts them."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from rnnlib.viz import draw_bptt_graph  # noqa: E402


def arrows(ax, gid):
    return [t for t in ax.texts if t.get_gid() == gid]


@pytest.mark.parametrize("steps", [1, 4, 6])
def test_full_bptt_sends_every_gradient_back_to_h0(steps):
    ax = draw_bptt_graph(steps)
    # per step: x_t -> h_t, h_t -> loss_t, h_{t-1} -> h_t
    assert len(arrows(ax, "forward")) == 3 * steps
    # per step: loss_t -> h_t and h_t -> h_{t-1}
    assert len(arrows(ax, "backward")) == 2 * steps
    assert arrows(ax, "carried") == []
    plt.close(ax.figure)


@pytest.mark.parametrize("steps, window, windows", [(6, 3, 2), (6, 6, 1), (7, 3, 3), (4, 1, 4)])
def test_truncation_cuts_the_gradient_at_each_window_start(steps, window, windows):
    ax = draw_bptt_graph(steps, window=window)
    # the state still moves forward into every window; no gradient leaves a window
    assert len(arrows(ax, "carried")) == windows
    assert len(arrows(ax, "forward")) == 3 * steps - windows
    assert len(arrows(ax, "backward")) == 2 * steps - windows
    plt.close(ax.figure)


def test_draw_bptt_graph_rejects_bad_arguments():
    with pytest.raises(ValueError, match="steps must be at most 10"):
        draw_bptt_graph(11)
    with pytest.raises(ValueError, match="window must be at most steps=4, got 5"):
        draw_bptt_graph(4, window=5)
    with pytest.raises(TypeError, match="window must be an int"):
        draw_bptt_graph(4, window=2.0)

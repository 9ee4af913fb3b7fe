"""Plots that several chapters share. Each returns the matplotlib Axes it drew on.

Append new shared plots here; a plot used by one chapter only stays in that chapter.
"""

import matplotlib.pyplot as plt
import numpy as np

__all__ = [
    "plot_history",
    "plot_heatmap",
    "draw_lstm_cell",
    "draw_gru_cell",
    "draw_unrolled_rnn",
    "draw_encoder_decoder",
    "draw_bptt_graph",
    "draw_deep_rnn",
    "plot_text_activation",
]


def _axes(ax, figsize=(6, 3.5)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_history(history, ax=None, label=None, smooth=20, x="step", logy=False):
    """Training loss (smoothed over ``smooth`` steps) and validation loss of a :class:`rnnlib.train.History`.

    Args:
        x: "step" or "seconds" (wall-clock time) on the horizontal axis.
    """
    ax = _axes(ax)
    xs = history.step if x == "step" else history.seconds
    name = f"{label} " if label else ""
    line, = ax.plot(xs, history.smoothed_train_loss(smooth), label=f"{name}train")
    if history.val_loss:
        val_x = history.val_step if x == "step" else [history.seconds[s - 1] for s in history.val_step]
        ax.plot(val_x, history.val_loss, "o--", color=line.get_color(), label=f"{name}validation")
    ax.set_xlabel("step" if x == "step" else "seconds")
    ax.set_ylabel("loss")
    if logy:
        ax.set_yscale("log")
    ax.legend()
    return ax


def plot_heatmap(matrix, row_labels=None, col_labels=None, ax=None, cmap="viridis", title=None, colorbar=True):
    """A labelled heatmap (attention weights, confusion matrices). ``matrix`` has shape (rows, cols)."""
    matrix = np.asarray(matrix)
    ax = _axes(ax, figsize=(0.35 * matrix.shape[1] + 2, 0.35 * matrix.shape[0] + 1.5))
    image = ax.imshow(matrix, cmap=cmap, aspect="auto")
    if row_labels is not None:
        ax.set_yticks(range(len(row_labels)), labels=row_labels)
    if col_labels is not None:
        ax.set_xticks(range(len(col_labels)), labels=col_labels, rotation=90)
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(image, ax=ax)
    return ax


# ----------------------------------------------------------------------------------------------
# Gate diagrams of the LSTM and GRU cells (chapter 4), drawn with matplotlib patches only.
# Sizes are chosen for a figure about 7 inches wide shown at the book's width: text >= 12 pt.

_GATE_COLOURS = {"sigma": "#f6c85f", "tanh": "#9dd866", "op": "#ffffff", "line": "#333333", "back": "#eef3fa"}
_HIGHWAY = "#d62728"
_TEXT = 14  # points
_TOP, _GATES, _BOTTOM = 3.3, 1.45, 0.55  # heights of the carried state, the gate boxes, the inputs


def _cell_axes(ax):
    """Axes for a cell diagram, with the cell's background box."""
    from matplotlib.patches import FancyBboxPatch

    ax = _axes(ax, figsize=(7, 4))
    ax.add_patch(FancyBboxPatch((0.2, 0.15), 6.6, 3.6, boxstyle="round,pad=0.05", facecolor=_GATE_COLOURS["back"],
                                edgecolor="#8aa1c1", zorder=0))
    return ax


def _finish_cell_axes(ax, title):
    ax.set_title(title, fontsize=_TEXT)
    ax.set_xlim(-0.7, 7.7)
    ax.set_ylim(-0.8, 4.0)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def _gate_box(ax, x, y, text, label=None, colour=None):
    """A nonlinearity box at (x, y); ``label`` (the gate's name) is written at its top right."""
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - 0.38, y - 0.22), 0.76, 0.44, boxstyle="round,pad=0.04", zorder=2,
                                facecolor=colour or _GATE_COLOURS["sigma"], edgecolor=_GATE_COLOURS["line"]))
    ax.text(x, y, text, ha="center", va="center", fontsize=_TEXT, zorder=3)
    if label:
        ax.text(x + 0.1, y + 0.33, label, ha="left", va="bottom", fontsize=_TEXT + 2, style="italic", weight="bold",
                zorder=3)


def _op_circle(ax, x, y, text):
    from matplotlib.patches import Circle

    ax.add_patch(Circle((x, y), 0.22, facecolor=_GATE_COLOURS["op"], edgecolor=_GATE_COLOURS["line"], zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=_TEXT, zorder=4)


def _arrow(ax, start, end, colour=None, width=1.4):
    ax.annotate("", xy=end, xytext=start, zorder=1,
                arrowprops=dict(arrowstyle="-|>", color=colour or _GATE_COLOURS["line"], lw=width, shrinkA=10,
                                shrinkB=10))


def _line(ax, points, colour=None, width=1.4, over=False):
    """A polyline; ``over=True`` draws it with a gap in whatever line it crosses (a bridge)."""
    from matplotlib import patheffects

    xs, ys = zip(*points)
    effects = [patheffects.withStroke(linewidth=7, foreground=_GATE_COLOURS["back"])] if over else None
    ax.plot(xs, ys, color=colour or _GATE_COLOURS["line"], lw=width, solid_capstyle="round",
            zorder=1.5 if over else 1, path_effects=effects)


def _label(ax, x, y, text, **style):
    ax.text(x, y, text, fontsize=_TEXT + 2, **style)


def _highway(ax, times_x, plus_x, left, right):
    """The state carried along the top: in from the left, an elementwise product at ``times_x``,
    a sum at ``plus_x``, out to the right."""
    _line(ax, [(-0.4, _TOP), (times_x - 0.22, _TOP)], _HIGHWAY, 2.6)
    _op_circle(ax, times_x, _TOP, "×")
    _line(ax, [(times_x + 0.22, _TOP), (plus_x - 0.22, _TOP)], _HIGHWAY, 2.6)
    _op_circle(ax, plus_x, _TOP, "+")
    _arrow(ax, (plus_x + 0.1, _TOP), (7.5, _TOP), _HIGHWAY, 2.6)
    _label(ax, -0.5, _TOP + 0.2, left)
    _label(ax, 7.0, _TOP + 0.2, right)


def draw_lstm_cell(ax=None):
    r"""Draw one LSTM step with its gates in PyTorch's order i, f, g, o, left to right; return the Axes.

    The cell state runs along the top, touched only by an elementwise product with the forget gate
    and a sum: the "gradient highway", :math:`\partial c_t / \partial c_{t-1} = \mathrm{diag}(f)`.
    The input gate's line crosses the forget gate's on a bridge.
    """
    ax = _cell_axes(ax)
    i, f, g, o, out = 1.2, 2.3, 3.4, 4.6, 5.75
    tanh_colour = _GATE_COLOURS["tanh"]
    # cell state: c_{t-1} -> (x f) -> (+ i g) -> c_t
    _highway(ax, f, g, "$c_{t-1}$", "$c_t$")
    # inputs: h_{t-1} along the bottom, x_t joining from below; every gate reads both
    _line(ax, [(-0.4, _BOTTOM), (o, _BOTTOM)])
    _label(ax, -0.5, _BOTTOM + 0.15, "$h_{t-1}$")
    _line(ax, [(0.6, -0.35), (0.6, _BOTTOM)])
    _label(ax, 0.4, -0.7, "$x_t$")
    for x, text, name, colour in [(i, "σ", "i", None), (f, "σ", "f", None), (g, "tanh", "g", tanh_colour),
                                  (o, "σ", "o", None)]:
        _arrow(ax, (x, _BOTTOM), (x, _GATES))
        _gate_box(ax, x, _GATES, text, name, colour)
    # c_t = f c_{t-1} + i g
    _arrow(ax, (f, _GATES), (f, _TOP))
    _op_circle(ax, g, 2.45, "×")
    _line(ax, [(i, _GATES + 0.22), (i, 2.45), (g - 0.5, 2.45)], over=True)
    _arrow(ax, (g - 0.6, 2.45), (g, 2.45))
    _arrow(ax, (g, _GATES), (g, 2.45))
    _arrow(ax, (g, 2.45), (g, _TOP))
    # output: h_t = o tanh(c_t)
    _arrow(ax, (out, _TOP), (out, 2.45))
    _gate_box(ax, out, 2.45, "tanh", None, tanh_colour)
    _op_circle(ax, out, _GATES, "×")
    _arrow(ax, (out, 2.45), (out, _GATES))
    _arrow(ax, (o, _GATES), (out, _GATES))
    _line(ax, [(out, _GATES - 0.22), (out, _BOTTOM), (6.4, _BOTTOM)])
    _arrow(ax, (6.2, _BOTTOM), (7.5, _BOTTOM))
    _label(ax, 7.0, _BOTTOM + 0.15, "$h_t$")
    return _finish_cell_axes(ax, "LSTM cell (PyTorch gate order i, f, g, o)")


def draw_gru_cell(ax=None):
    r"""Draw one GRU step with its gates in PyTorch's order r, z, n, left to right; return the Axes.

    The hidden state runs along the top and is interpolated, :math:`h_t = (1 - z) \odot n + z \odot h_{t-1}`,
    with the reset gate inside the candidate, :math:`n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn}))`.
    The reset gate's line crosses the update gate's on a bridge.
    """
    ax = _cell_axes(ax)
    r, z, reset, n = 1.3, 2.5, 3.65, 4.8
    # hidden state: h_{t-1} -> (x z) -> (+ (1 - z) n) -> h_t
    _highway(ax, z, n, "$h_{t-1}$", "$h_t$")
    # h_{t-1} also feeds the gates from below, next to x_t
    _line(ax, [(0.45, _TOP), (0.45, _BOTTOM), (n, _BOTTOM)])
    _line(ax, [(0.9, -0.35), (0.9, _BOTTOM)])
    _label(ax, 0.7, -0.7, "$x_t$")
    _arrow(ax, (r, _BOTTOM), (r, _GATES))
    _gate_box(ax, r, _GATES, "σ", "r")
    _arrow(ax, (z, _BOTTOM), (z, _GATES))
    _gate_box(ax, z, _GATES, "σ", "z")
    _arrow(ax, (z, _GATES), (z, _TOP))
    # candidate: n = tanh(W_in x + b_in + r (W_hn h + b_hn)): r scales the recurrent part only
    _op_circle(ax, reset, _GATES, "×")
    _line(ax, [(r, _GATES + 0.22), (r, 2.2), (reset, 2.2), (reset, _GATES + 0.45)], over=True)
    _arrow(ax, (reset, 2.2), (reset, _GATES))
    _arrow(ax, (reset, _BOTTOM), (reset, _GATES))
    ax.text(reset, _BOTTOM - 0.12, "$W_{hn}h + b_{hn}$", fontsize=_TEXT - 2, ha="center", va="top")
    _arrow(ax, (reset, _GATES), (n, _GATES))
    _arrow(ax, (n, _BOTTOM), (n, _GATES))
    _gate_box(ax, n, _GATES, "tanh", "n", _GATE_COLOURS["tanh"])
    # h_t = z h_{t-1} + (1 - z) n
    _op_circle(ax, reset, 2.65, "1−")
    _line(ax, [(z, 2.65), (reset - 0.22, 2.65)])
    _op_circle(ax, n, 2.65, "×")
    _arrow(ax, (reset, 2.65), (n, 2.65))
    _arrow(ax, (n, _GATES), (n, 2.65))
    _arrow(ax, (n, 2.65), (n, _TOP))
    return _finish_cell_axes(ax, "GRU cell (PyTorch gate order r, z, n)")


# ----------------------------------------------------------------------------------------------
# The recurrence, folded and unrolled in time (chapter 1).


def _node(ax, x, y, text, colour, width=0.8, height=0.5):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.05",
                                facecolor=colour, edgecolor=_GATE_COLOURS["line"], zorder=2))
    ax.text(x, y, text, ha="center", va="center", fontsize=12, zorder=3)


def draw_unrolled_rnn(steps=4, ax=None, outputs=True):
    """Draw an RNN folded (a cell with a loop) and unrolled over ``steps`` time steps; return the Axes.

    Every copy of the cell computes :math:`h_t = \\tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh})`
    with the *same* weights, which the labels on the arrows show: one :math:`W_{ih}` on every
    input arrow, one :math:`W_{hh}` on every recurrent arrow (parameter sharing).

    Args:
        steps: number of time steps drawn unrolled (1 to 8).
        ax: Axes to draw on (a new figure if None).
        outputs: also draw the outputs :math:`y_t` read from each :math:`h_t`.
    """
    from rnnlib.validate import check_positive_int

    check_positive_int("steps", steps)
    if steps > 8:
        raise ValueError(f"steps must be at most 8 to stay readable, got {steps}")
    ax = _axes(ax, figsize=(2.0 + 1.45 * (steps + 2), 3.4 if outputs else 2.6))
    hidden, data, out = "#9dd866", "#dddddd", "#f6c85f"
    top = 2.0 if outputs else 1.0

    def arrow(start, end, **style):
        ax.annotate("", xy=end, xytext=start, zorder=1, arrowprops=dict(
            arrowstyle="-|>", lw=1.4, color=_GATE_COLOURS["line"], shrinkA=1, shrinkB=1, **style))

    # folded: one cell whose output loops back into itself
    _node(ax, 0, 1, "$h$", hidden)
    _node(ax, 0, 0, "$x_t$", data)
    arrow((0, 0.3), (0, 0.7))
    ax.text(0.08, 0.5, "$W_{ih}$", fontsize=9, va="center")
    arrow((0.45, 1.18), (0.45, 0.82), connectionstyle="arc3,rad=-1.6")
    ax.text(0.88, 1.0, "$W_{hh}$", fontsize=9, va="center")
    if outputs:
        _node(ax, 0, 2, "$y_t$", out)
        arrow((0, 1.3), (0, 1.7))
    ax.text(1.55, 1, "=", fontsize=22, ha="center", va="center")

    # unrolled: h_0 -> h_1 -> ... -> h_T, the same W_ih and W_hh at every step
    x0 = 2.45
    _node(ax, x0, 1, "$h_0$", "#ffffff")
    for t in range(1, steps + 1):
        x = x0 + 1.45 * t
        _node(ax, x, 1, f"$h_{t}$", hidden)
        _node(ax, x, 0, f"$x_{t}$", data)
        arrow((x, 0.3), (x, 0.7))
        ax.text(x + 0.08, 0.5, "$W_{ih}$", fontsize=9, va="center")
        arrow((x - 1.0, 1), (x - 0.45, 1))
        ax.text(x - 0.72, 1.1, "$W_{hh}$", fontsize=9, ha="center")
        if outputs:
            _node(ax, x, 2, f"$y_{t}$", out)
            arrow((x, 1.3), (x, 1.7))
    ax.set_xlim(-0.6, x0 + 1.45 * steps + 0.6)
    ax.set_ylim(-0.45, top + 0.45)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


# ----------------------------------------------------------------------------------------------
# The encoder-decoder, with a fixed-length context or with attention (chapter 6).


def draw_encoder_decoder(attention=True, source_length=4, target_length=3, ax=None):
    r"""Draw an RNN encoder-decoder and what its decoder reads; return the Axes.

    The encoder (bottom) reads :math:`x_1 \dots x_S` in both directions into annotations
    :math:`h_j`; the decoder (top) writes :math:`y_1, y_2, \dots`, each step reading the previous
    word and a context. With ``attention=False`` the context is one vector for every step,
    :math:`c = [\overrightarrow{h}_S; \overleftarrow{h}_1]` (Cho et al. 2014). With
    ``attention=True`` it is recomputed at every step, :math:`c_t = \sum_j \alpha_{tj} h_j`, with
    weights scored from the previous decoder state :math:`s_{t-1}` (Bahdanau et al. 2015); the
    drawing shows it for the last step t = T, line widths standing for example weights.

    Args:
        attention: draw the attention context (True) or the fixed-length context (False).
        source_length: S, the encoder steps drawn (2 to 6).
        target_length: T, the decoder steps drawn (2 to 5).
        ax: Axes to draw on (a new figure if None).
    """
    from rnnlib.validate import check_positive_int

    if not isinstance(attention, bool):
        raise TypeError(f"attention must be a bool, got {type(attention).__name__}")
    check_positive_int("source_length", source_length)
    check_positive_int("target_length", target_length)
    if not 2 <= source_length <= 6:
        raise ValueError(f"source_length must be in [2, 6] to stay readable, got {source_length}")
    if not 2 <= target_length <= 5:
        raise ValueError(f"target_length must be in [2, 5] to stay readable, got {target_length}")
    S, T, gap = source_length, target_length, 1.3
    ax = _axes(ax, figsize=(6, 4.2))
    encoder, decoder, data, context_colour = "#9dd866", "#8fb8e8", "#dddddd", "#f6c85f"
    line = _GATE_COLOURS["line"]

    def arrow(start, end, colour=line, width=1.3, style="-|>", **extra):
        ax.annotate("", xy=end, xytext=start, zorder=1, arrowprops=dict(
            arrowstyle=style, lw=width, color=colour, shrinkA=2, shrinkB=2, **extra))

    # encoder: x_j -> h_j, both directions along the row
    enc_y, dec_y, ctx_y = 0.0, 3.2, 1.75
    enc_x = [gap * j for j in range(S)]
    for j, x in enumerate(enc_x, start=1):
        _node(ax, x, enc_y - 1.1, f"$x_{j}$", data)
        _node(ax, x, enc_y, f"$h_{j}$", encoder)
        arrow((x, enc_y - 0.8), (x, enc_y - 0.3))
    for a, b in zip(enc_x, enc_x[1:]):
        arrow((a + 0.42, enc_y + 0.08), (b - 0.42, enc_y + 0.08))
        arrow((b - 0.42, enc_y - 0.08), (a + 0.42, enc_y - 0.08))
    # decoder: s_{t-1} -> s_t, each step writing y_t and reading it back at the next step
    dec_x = [enc_x[-1] + gap * (t + 1.2) for t in range(T)]
    for t, x in enumerate(dec_x, start=1):
        _node(ax, x, dec_y, f"$s_{t}$", decoder)
        _node(ax, x, dec_y + 1.1, f"$y_{t}$", data)
        arrow((x, dec_y + 0.3), (x, dec_y + 0.8))
    for a, b in zip(dec_x, dec_x[1:]):
        arrow((a + 0.42, dec_y), (b - 0.42, dec_y))
        arrow((a + 0.3, dec_y + 0.9), (b - 0.3, dec_y + 0.3), colour="#888888", width=1.0)
    if attention:
        # c_t = sum_j alpha_tj h_j for the last step; the query is s_{t-1}
        example = [0.04, 0.08, 0.18, 0.6, 0.06, 0.04][:S]
        cx = (enc_x[-1] + dec_x[-1]) / 2
        _node(ax, cx, ctx_y, f"$c_{T}$", context_colour, width=0.7)
        for j, (x, alpha) in enumerate(zip(enc_x, example), start=1):
            arrow((x, enc_y + 0.3), (cx - 0.3, ctx_y - 0.2), colour="#d62728", width=0.6 + 8 * alpha)
        ax.text(enc_x[0] - 0.3, ctx_y - 0.5, f"weights $\\alpha_{{{T}j}}$", fontsize=12, color="#d62728")
        arrow((cx + 0.35, ctx_y + 0.1), (dec_x[-1] - 0.2, dec_y - 0.3), width=1.8)
        arrow((dec_x[-2], dec_y - 0.3), (cx + 0.15, ctx_y + 0.3), colour="#555555", width=1.0, linestyle="--")
        ax.text(dec_x[-2] - 0.9, ctx_y + 0.55, f"query $s_{T - 1}$", fontsize=10, color="#555555", ha="right")
        title = "attention: a new context $c_t = \\Sigma_j\\,\\alpha_{tj} h_j$ at every step\n(drawn for $t = " + str(T) + "$)"
    else:
        # c = [forward h_S; backward h_1], the same vector read at every decoder step
        cx = (enc_x[-1] + dec_x[0]) / 2
        _node(ax, cx, ctx_y, "$c$", context_colour, width=0.7)
        arrow((enc_x[-1], enc_y + 0.3), (cx - 0.2, ctx_y - 0.25), width=1.8)
        arrow((enc_x[0] + 0.2, enc_y + 0.3), (cx - 0.35, ctx_y - 0.1), width=1.8, connectionstyle="arc3,rad=-0.25")
        for x in dec_x:
            arrow((cx + 0.35, ctx_y), (x - 0.2, dec_y - 0.3), width=1.3)
        title = "fixed context: one vector $c$ for every step"
    ax.text(enc_x[0] - 0.55, enc_y - 1.9, "encoder (bidirectional)", fontsize=10, style="italic")
    ax.text(dec_x[0] - 0.55, dec_y + 1.75, "decoder", fontsize=10, style="italic")
    ax.set_title(title, fontsize=12)
    ax.set_xlim(enc_x[0] - 0.7, dec_x[-1] + 0.7)
    ax.set_ylim(enc_y - 2.1, dec_y + 2.0)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


# ----------------------------------------------------------------------------------------------
# Backpropagation through time on the unrolled graph (chapter 2).


def draw_bptt_graph(steps=6, window=None, ax=None):
    r"""Draw the unrolled RNN with its forward pass and the gradient paths of BPTT; return the Axes.

    Forward (black): :math:`x_t \to h_t`, :math:`h_{t-1} \to h_t`, :math:`h_t \to \ell_t`. Backward
    (red): each loss sends :math:`\partial \ell_t / \partial h_t` down to :math:`h_t`, and each state
    sends its total gradient :math:`\delta_t` back to :math:`h_{t-1}` through
    :math:`\partial h_t / \partial h_{t-1} = \mathrm{diag}(1 - h_t^2)\, W_{hh}`, so
    :math:`\delta_{t-1} = \partial \ell_{t-1} / \partial h_{t-1} + \delta_t\, \partial h_t / \partial h_{t-1}`.

    With ``window=k`` (truncated BPTT) the sequence is cut into windows of k steps: the state is
    still carried forward across a window boundary (grey arrow), but no gradient crosses it.
    Arrows carry the ``gid`` "forward", "carried" or "backward", so a test can count them.

    Args:
        steps: number of time steps drawn (1 to 10).
        window: None (full BPTT) or the truncation length k (1 to steps).
        ax: Axes to draw on (a new figure if None).
    """
    from rnnlib.validate import check_positive_int

    check_positive_int("steps", steps)
    if steps > 10:
        raise ValueError(f"steps must be at most 10 to stay readable, got {steps}")
    if window is not None:
        check_positive_int("window", window)
        if window > steps:
            raise ValueError(f"window must be at most steps={steps}, got {window}")
    gap = 1.5
    ax = _axes(ax, figsize=(1.3 + 1.1 * (steps + 1), 3.3))
    hidden, data, loss, red, grey = "#9dd866", "#dddddd", "#f6c85f", "#d62728", "#999999"

    def arrow(start, end, gid, colour, **style):
        annotation = ax.annotate("", xy=end, xytext=start, zorder=1, arrowprops=dict(
            arrowstyle="-|>", lw=1.4, color=colour, shrinkA=1, shrinkB=1, **style))
        annotation.set_gid(gid)

    def cut_before(t):
        # the gradient from h_t to h_{t-1} is cut at the start of every window (and at h_0)
        return window is not None and (t - 1) % window == 0

    _node(ax, 0, 1, "$h_0$", "#ffffff")
    for t in range(1, steps + 1):
        x = gap * t
        _node(ax, x, 0, f"$x_{{{t}}}$", data)
        _node(ax, x, 1, f"$h_{{{t}}}$", hidden)
        _node(ax, x, 2.2, f"$\\ell_{{{t}}}$", loss)
        arrow((x, 0.3), (x, 0.7), "forward", _GATE_COLOURS["line"])
        arrow((x - 0.15, 1.3), (x - 0.15, 1.9), "forward", _GATE_COLOURS["line"])
        arrow((x + 0.15, 1.9), (x + 0.15, 1.3), "backward", red)
        cut = cut_before(t)
        arrow((x - gap + 0.45, 1.08), (x - 0.45, 1.08), "carried" if cut else "forward",
              grey if cut else _GATE_COLOURS["line"])
        if cut:
            ax.plot([x - gap / 2] * 2, [-0.35, 2.55], ls=":", color=red, lw=1.2)
        else:
            arrow((x - 0.45, 0.9), (x - gap + 0.45, 0.9), "backward", red)
    first = gap * 1
    ax.text(first + 0.22, 1.6, r"$\partial \ell_t / \partial h_t$", fontsize=9, color=red, va="center")
    if steps > 1 and not cut_before(2):
        ax.text(first + gap / 2, 0.62, r"$\partial h_t / \partial h_{t-1}$", fontsize=9, color=red, ha="center")
    title = "full BPTT: every loss sends its gradient back to $h_0$" if window is None else (
        f"truncated BPTT, k = {window}: the state is carried across the dotted lines, the gradient is not")
    ax.set_title(title, fontsize=10)
    ax.set_xlim(-0.6, gap * steps + 0.6)
    ax.set_ylim(-0.45, 2.7)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


# ----------------------------------------------------------------------------------------------
# Stacked and bidirectional RNNs, unrolled, with the final states that torch returns in h_n (chapter 5).


def draw_deep_rnn(steps=4, num_layers=1, bidirectional=False, ax=None):
    """Draw a stacked and/or bidirectional RNN unrolled over ``steps`` steps; return the Axes.

    Each layer is a row of states (two rows when bidirectional: :math:`\\overrightarrow{h}` read
    left to right, :math:`\\overleftarrow{h}` right to left, drawn a little apart so that every
    arrow shows). Layer 1 reads the inputs :math:`x_t`; layer :math:`l > 1` reads the states of
    layer :math:`l - 1` at the same step (both directions, concatenated); the outputs are the
    top layer's states. The final state of every layer and direction is outlined and labelled
    with its index in torch's ``h_n``, ``layer * num_directions + direction``: the forward
    direction ends at step :math:`T`, the backward direction at step 1.

    Args:
        steps: time steps drawn (2 to 6).
        num_layers: stacked layers (1 to 3).
        bidirectional: draw both directions.
        ax: Axes to draw on (a new figure if None).
    """
    from rnnlib.validate import check_positive_int

    check_positive_int("steps", steps)
    check_positive_int("num_layers", num_layers)
    if not 2 <= steps <= 6:
        raise ValueError(f"steps must be in 2..6 to stay readable, got {steps}")
    if num_layers > 3:
        raise ValueError(f"num_layers must be at most 3 to stay readable, got {num_layers}")
    if not isinstance(bidirectional, bool):
        raise TypeError(f"bidirectional must be a bool, got {type(bidirectional).__name__}")
    directions = 2 if bidirectional else 1
    rows = num_layers * directions
    ax = _axes(ax, figsize=(1.7 * steps + 1.4, 0.95 * rows + 2.0))
    colours = {"x": "#dddddd", "y": "#f6c85f", 0: "#9dd866", 1: "#8ecae6"}
    dx, dy, half_width, half_height = 1.7, 1.0, 0.3, 0.22
    shift = 0.42 if bidirectional else 0.0  # forward nodes left, backward nodes right of the column

    def arrow(start, end, colour="#888888"):
        # from the edge of the start box to the edge of the end box
        (x0, y0), (x1, y1) = start, end
        length = max(abs(x1 - x0) / (half_width + 0.05), abs(y1 - y0) / (half_height + 0.05))
        fx, fy = (x1 - x0) / length, (y1 - y0) / length
        ax.annotate("", xy=(x1 - fx, y1 - fy), xytext=(x0 + fx, y0 + fy), zorder=1, arrowprops=dict(
            arrowstyle="-|>", lw=1.3, color=colour, shrinkA=0, shrinkB=0, mutation_scale=12))

    def position(t, layer, direction):
        return dx * t + (shift if direction else -shift), dy * (1 + layer * directions + direction)

    top = dy * (rows + 1)
    for t in range(1, steps + 1):
        _node(ax, dx * t, 0, f"$x_{t}$", colours["x"], width=2 * half_width, height=2 * half_height)
        _node(ax, dx * t, top, f"$y_{t}$", colours["y"], width=2 * half_width, height=2 * half_height)
    for layer in range(num_layers):
        for direction in range(directions):
            name = "\\overleftarrow{h}" if direction else ("\\overrightarrow{h}" if bidirectional else "h")
            time_colour = _GATE_COLOURS["line"] if not bidirectional else ("#1f77b4" if direction else "#2ca02c")
            for t in range(1, steps + 1):
                x, y = position(t, layer, direction)
                _node(ax, x, y, f"${name}^{{({layer + 1})}}_{t}$", colours[direction],
                      width=2 * half_width, height=2 * half_height)
                if t == (1 if direction else steps):  # the state this layer and direction ends in
                    ax.add_patch(plt.Rectangle((x - half_width - 0.09, y - half_height - 0.09), 2 * half_width + 0.18,
                                               2 * half_height + 0.18, fill=False, lw=1.8, ls="--",
                                               edgecolor="#d62728", zorder=4))
                    ax.text(x + (-1 if direction else 1) * (half_width + 0.12), y + half_height + 0.12,
                            f"h_n[{layer * directions + direction}]", fontsize=10, color="#d62728",
                            ha="right" if direction else "left", va="bottom", zorder=5)
                # along time: left to right, or right to left for the backward direction
                if (direction == 0 and t > 1) or (direction == 1 and t < steps):
                    arrow(position(t - 1 if direction == 0 else t + 1, layer, direction), (x, y), time_colour)
                # from below: the input, or every direction of the layer below (concatenated)
                sources = [(dx * t, 0)] if layer == 0 else [position(t, layer - 1, d) for d in range(directions)]
                for source in sources:
                    arrow(source, (x, y))
                if layer == num_layers - 1:
                    arrow((x, y), (dx * t, top))
    ax.set_xlim(dx * 0.45, dx * (steps + 0.6))
    ax.set_ylim(-0.4, top + 0.4)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


# ----------------------------------------------------------------------------------------------
# Text coloured by a value per character (chapter 4: what one LSTM cell tracks).


def plot_text_activation(text, values, ax=None, cmap="coolwarm", limits=(-1.0, 1.0), columns=None, title=None):
    """Draw ``text`` in a monospaced grid, each character on a background coloured by its value.

    The visualisation of Karpathy, Johnson and Fei-Fei (2015): one cell's activation after
    reading each character, shown behind that character, so that what the cell tracks (inside
    a string, the bracket depth, the position in the line) can be read off the page.

    Args:
        text: str of length L; newlines start new rows.
        values: (L,) numbers, one per character (e.g. ``tanh(c_t)`` of one unit).
        ax: Axes to draw on (a new figure sized to the text if None).
        cmap: a matplotlib colormap name; limits: the values mapped to its two ends.
        columns: characters per row before a line is cut (default: the longest line).
        title: optional title.
    """
    values = np.asarray(values, dtype=float)
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if values.shape != (len(text),):
        raise ValueError(f"values must have shape ({len(text)},), one per character of text, got {values.shape}")
    low, high = limits
    if not low < high:
        raise ValueError(f"limits must be (low, high) with low < high, got {limits!r}")
    rows, row, col = [], 0, 0
    width = columns or max(len(line) for line in text.split("\n")) + 1
    for char in text:
        rows.append((row, col))
        col += 1
        if char == "\n" or col >= width:
            row, col = row + 1, 0
    n_rows = row + 1
    ax = _axes(ax, figsize=(0.11 * width + 0.5, 0.22 * n_rows + 0.6))
    colour_map = plt.get_cmap(cmap)
    for char, (r, c), value in zip(text, rows, values):
        shade = colour_map((np.clip(value, low, high) - low) / (high - low))
        ax.add_patch(plt.Rectangle((c, -r - 1), 1, 1, facecolor=shade, edgecolor="none"))
        if char not in " \n":
            ax.text(c + 0.5, -r - 0.5, char, ha="center", va="center", fontsize=9, family="monospace")
    ax.set_xlim(0, width)
    ax.set_ylim(-n_rows, 0)
    ax.set_aspect("auto")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    return ax

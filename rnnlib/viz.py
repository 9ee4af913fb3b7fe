"""Plots that several chapters share. Each returns the matplotlib Axes it drew on.

Append new shared plots here; a plot used by one chapter only stays in that chapter.
"""

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_history", "plot_heatmap", "plot_gate_diagram", "draw_unrolled_rnn", "draw_encoder_decoder"]


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

_GATE_COLOURS = {"sigma": "#f6c85f", "tanh": "#9dd866", "op": "#ffffff", "line": "#333333"}


def _gate_box(ax, x, y, text, label=None, colour=None):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - 0.38, y - 0.22), 0.76, 0.44, boxstyle="round,pad=0.04",
                                facecolor=colour or _GATE_COLOURS["sigma"], edgecolor=_GATE_COLOURS["line"]))
    ax.text(x, y, text, ha="center", va="center", fontsize=11)
    if label:
        ax.text(x + 0.45, y - 0.38, label, ha="left", va="center", fontsize=10, style="italic")


def _op_circle(ax, x, y, text):
    from matplotlib.patches import Circle

    ax.add_patch(Circle((x, y), 0.2, facecolor=_GATE_COLOURS["op"], edgecolor=_GATE_COLOURS["line"], zorder=3))
    ax.text(x, y, text, ha="center", va="center", fontsize=11, zorder=4)


def _arrow(ax, start, end, colour=None, width=1.4):
    ax.annotate("", xy=end, xytext=start,
                arrowprops=dict(arrowstyle="-|>", color=colour or _GATE_COLOURS["line"], lw=width, shrinkA=9, shrinkB=9))


def _line(ax, points, colour=None, width=1.4):
    xs, ys = zip(*points)
    ax.plot(xs, ys, color=colour or _GATE_COLOURS["line"], lw=width, solid_capstyle="round")


def plot_gate_diagram(cell="lstm", ax=None):
    """Draw the gates of one LSTM or GRU step, in PyTorch's convention, and return the Axes.

    LSTM (gate order i, f, g, o): the cell state runs along the top, touched only by an
    elementwise product with the forget gate and a sum -- the "gradient highway"
    (:math:`\\partial c_t / \\partial c_{t-1} = \\mathrm{diag}(f_t)`). GRU (gate order r, z, n): the
    hidden state runs along the top and is interpolated, :math:`h_t = (1 - z) \\odot n + z \\odot h_{t-1}`,
    with the reset gate inside the candidate, :math:`n = \\tanh(W_{in} x + b_{in} + r \\odot (W_{hn} h + b_{hn}))`.

    Args:
        cell: "lstm" or "gru".
        ax: Axes to draw on (a new 7 x 3.6 inch figure if None).
    """
    if cell not in ("lstm", "gru"):
        raise ValueError(f"cell must be one of 'lstm', 'gru', got {cell!r}")
    ax = _axes(ax, figsize=(7, 3.6))
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((0.2, 0.15), 6.6, 3.6, boxstyle="round,pad=0.05", facecolor="#eef3fa",
                                edgecolor="#8aa1c1", zorder=0))
    top, bottom, gates = 3.3, 0.55, 1.45
    highway = "#d62728"
    if cell == "lstm":
        # cell state: c_{t-1} -> (x f) -> (+ i*g) -> c_t
        _line(ax, [(-0.4, top), (1.3, top)], highway, 2.6)
        _op_circle(ax, 1.5, top, "×")
        _line(ax, [(1.7, top), (3.1, top)], highway, 2.6)
        _op_circle(ax, 3.3, top, "+")
        _arrow(ax, (3.5, top), (7.4, top), highway, 2.6)
        ax.text(-0.45, top + 0.22, "$c_{t-1}$", fontsize=12)
        ax.text(7.0, top + 0.22, "$c_t$", fontsize=12)
        # inputs: h_{t-1} along the bottom, x_t joining from below
        _line(ax, [(-0.4, bottom), (5.1, bottom)])
        ax.text(-0.45, bottom + 0.15, "$h_{t-1}$", fontsize=12)
        _line(ax, [(0.8, -0.35), (0.8, bottom)])
        ax.text(0.55, -0.55, "$x_t$", fontsize=12)
        for x, text, label, colour in [(1.5, "σ", "f", None), (2.6, "σ", "i", None),
                                        (3.7, "tanh", "g", _GATE_COLOURS["tanh"]), (5.1, "σ", "o", None)]:
            _arrow(ax, (x, bottom), (x, gates))
            _gate_box(ax, x, gates, text, label, colour)
        _arrow(ax, (1.5, gates), (1.5, top))
        _op_circle(ax, 3.3, 2.4, "×")
        _arrow(ax, (2.6, gates), (3.3, 2.4))
        _arrow(ax, (3.7, gates), (3.3, 2.4))
        _arrow(ax, (3.3, 2.4), (3.3, top))
        # output: h_t = o * tanh(c_t)
        _arrow(ax, (5.9, top), (5.9, 2.45))
        _gate_box(ax, 5.9, 2.35, "tanh", None, _GATE_COLOURS["tanh"])
        _op_circle(ax, 5.9, gates, "×")
        _arrow(ax, (5.9, 2.35), (5.9, gates))
        _arrow(ax, (5.1, gates), (5.9, gates))
        _line(ax, [(5.9, gates - 0.2), (5.9, bottom), (7.4, bottom)])
        _arrow(ax, (6.3, bottom), (7.4, bottom))
        ax.text(7.0, bottom + 0.15, "$h_t$", fontsize=12)
        ax.set_title("LSTM cell (PyTorch gate order i, f, g, o)")
    else:
        # hidden state: h_{t-1} -> (x z) -> (+ (1-z)*n) -> h_t
        _line(ax, [(-0.4, top), (1.4, top)], highway, 2.6)
        _op_circle(ax, 1.6, top, "×")
        _line(ax, [(1.8, top), (4.7, top)], highway, 2.6)
        _op_circle(ax, 4.9, top, "+")
        _arrow(ax, (5.1, top), (7.4, top), highway, 2.6)
        ax.text(-0.45, top + 0.22, "$h_{t-1}$", fontsize=12)
        ax.text(7.0, top + 0.22, "$h_t$", fontsize=12)
        # h_{t-1} also feeds the gates from below, next to x_t
        _line(ax, [(0.5, top), (0.5, bottom), (4.9, bottom)])
        _line(ax, [(1.0, -0.35), (1.0, bottom)])
        ax.text(0.75, -0.55, "$x_t$", fontsize=12)
        _arrow(ax, (1.6, bottom), (1.6, gates))
        _gate_box(ax, 1.6, gates, "σ", "z")
        _arrow(ax, (1.6, gates), (1.6, top))
        _arrow(ax, (2.8, bottom), (2.8, gates))
        _gate_box(ax, 2.8, gates, "σ", "r")
        # candidate: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)): r scales the recurrent part only
        _op_circle(ax, 3.85, gates, "×")
        _arrow(ax, (2.8, gates), (3.85, gates))
        _arrow(ax, (3.85, bottom), (3.85, gates))
        ax.text(3.85, gates + 0.32, "$r \\odot (W_{hn}h + b_{hn})$", fontsize=8, ha="center")
        _arrow(ax, (3.85, gates), (4.9, gates))
        _arrow(ax, (4.9, bottom), (4.9, gates))
        _gate_box(ax, 4.9, gates, "tanh", "n", _GATE_COLOURS["tanh"])
        _op_circle(ax, 2.9, 2.5, "1−")
        _arrow(ax, (1.6, gates), (2.9, 2.5))
        _op_circle(ax, 4.9, 2.5, "×")
        _arrow(ax, (2.9, 2.5), (4.9, 2.5))
        _arrow(ax, (4.9, gates), (4.9, 2.5))
        _arrow(ax, (4.9, 2.5), (4.9, top))
        ax.set_title("GRU cell (PyTorch gate order r, z, n)")
    ax.set_xlim(-0.7, 7.7)
    ax.set_ylim(-0.8, 4.0)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


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

"""Plots that several chapters share. Each returns the matplotlib Axes it drew on.

Append new shared plots here; a plot used by one chapter only stays in that chapter.
"""

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_history", "plot_heatmap"]


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

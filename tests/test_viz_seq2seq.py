"""rnnlib.viz.draw_encoder_decoder: the fixed-length context and the attention context."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from rnnlib.viz import draw_encoder_decoder  # noqa: E402


@pytest.mark.parametrize("S, T", [(2, 2), (4, 3), (6, 5)])
def test_fixed_context_feeds_one_vector_to_every_decoder_step(S, T):
    ax = draw_encoder_decoder(attention=False, source_length=S, target_length=T)
    texts = [t.get_text() for t in ax.texts]
    assert [f"$h_{j}$" in texts for j in range(1, S + 1)] == [True] * S
    assert [f"$s_{t}$" in texts for t in range(1, T + 1)] == [True] * T
    assert "$c$" in texts and not any(text.startswith("$c_") for text in texts)
    assert len(ax.patches) == 2 * S + 2 * T + 1  # x_j, h_j, s_t, y_t and c
    plt.close(ax.figure)


@pytest.mark.parametrize("S, T", [(2, 2), (4, 3), (6, 5)])
def test_attention_context_reads_every_annotation_for_the_last_step(S, T):
    ax = draw_encoder_decoder(attention=True, source_length=S, target_length=T)
    texts = [t.get_text() for t in ax.texts]
    assert f"$c_{T}$" in texts and "$c$" not in texts
    assert f"query $s_{T - 1}$" in texts
    # one weighted arrow from every annotation into c_T, of different widths (the weights)
    widths = {round(a.arrow_patch.get_linewidth(), 3) for a in ax.texts if hasattr(a, "arrow_patch")
              and a.arrow_patch is not None and a.arrow_patch.get_edgecolor()[:3] == matplotlib.colors.to_rgb("#d62728")}
    assert len(widths) >= 2
    plt.close(ax.figure)


def test_draw_encoder_decoder_rejects_bad_arguments():
    with pytest.raises(TypeError, match="attention must be a bool, got str"):
        draw_encoder_decoder(attention="additive")
    with pytest.raises(ValueError, match=r"source_length must be in \[2, 6\] to stay readable, got 7"):
        draw_encoder_decoder(source_length=7)
    with pytest.raises(ValueError, match=r"target_length must be in \[2, 5\] to stay readable, got 1"):
        draw_encoder_decoder(target_length=1)

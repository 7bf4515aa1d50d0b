"""helpers.core.viz: grids from tensors and arrays, overlays, offline animations, source viewer, widgets."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from helpers.core import viz  # noqa: E402
from helpers.faces.masks import mouth_box  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_image_grid_from_tensors_places_each_image():
    x = torch.full((5, 3, 8, 10), -1.0)
    x[1] = 1.0                                        # white image in row 0, column 1
    x[3, 0] = 1.0                                     # red image in row 1, column 0
    g = viz.image_grid(x, nrow=3, padding=2, pad_value=128)
    assert g.dtype == np.uint8 and g.shape == (2 * 8 + 3 * 2, 3 * 10 + 4 * 2, 3)
    assert (g[2:10, 2:12] == 0).all()                         # image 0: black
    assert (g[2:10, 14:24] == 255).all()                      # image 1: white
    assert (g[12:20, 2:12] == [255, 0, 0]).all()              # image 3: red
    assert (g[0] == 128).all()                                # padding
    assert (g[12:20, 26:36] == 128).all()                     # empty sixth slot


def test_image_grid_accepts_uint8_grey_lists_and_value_ranges():
    a = np.zeros((4, 6, 6, 3), np.uint8)
    assert viz.image_grid(a, nrow=2, padding=0).shape == (12, 12, 3)
    assert viz.image_grid([a[0], a[1]], nrow=8, padding=0).shape == (6, 12, 3)
    grey = np.full((6, 6), 200, np.uint8)
    assert (viz.image_grid(grey, padding=0) == 200).all()
    mask = torch.ones(2, 1, 6, 6)                              # masks in [0, 1]
    assert (viz.image_grid(mask, value_range=(0, 1), padding=0) == 255).all()
    assert viz.image_grid(torch.zeros(3, 6, 6), padding=0).shape == (6, 6, 3)   # one CHW image
    with pytest.raises(ValueError, match="same size"):
        viz.image_grid([a[0], np.zeros((5, 5, 3), np.uint8)])
    with pytest.raises(ValueError, match="C in"):
        viz.image_grid(torch.zeros(2, 4, 6, 6))


def test_show_grid_and_show_images_have_no_ticks():
    ax = viz.show_grid(torch.rand(6, 3, 16, 16) * 2 - 1, nrow=3, title="samples")
    assert ax.get_title() == "samples" and ax.get_xticks().size == 0 and ax.get_yticks().size == 0
    fig = viz.show_images(torch.zeros(3, 3, 16, 16), titles=["a", "b", "c"])
    assert [a.get_title() for a in fig.axes[:3]] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="titles"):
        viz.show_images(torch.zeros(3, 3, 16, 16), titles=["a"])


def test_animate_returns_offline_html():
    frames = torch.linspace(-1, 1, 4)[:, None, None, None].expand(4, 3, 16, 16)
    html = viz.animate(frames, fps=5, titles=[f"t={k}" for k in range(4)])
    text = html.data
    assert "<script" in text and "animation" in text.lower()
    assert text.count("data:image/png;base64") == 4                 # every frame embedded
    assert "https://" not in text and "http://" not in text         # nothing to download
    assert 'class="fa' not in text                                  # icons work offline
    assert plt.get_fignums() == []                               # no stray static figure


def test_show_source_returns_the_code():
    src = viz.show_source(mouth_box, display=False)
    assert src.startswith("def mouth_box") and "MOUTH_BOX" in src
    part = viz.show_source(mouth_box, display=False, start=0, stop=1)
    assert part.count("\n") == 1
    with pytest.raises(ValueError, match="source"):
        viz.show_source(3, display=False)


def test_show_source_displays_highlighted_html(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    viz.show_source(viz.image_grid, display=True)
    html = shown[0].data
    assert "image_grid" in html and "<span" in html and "color" in html   # inline-styled pygments


def test_plot_curves():
    df = pd.DataFrame({"step": range(10), "loss_d": np.linspace(1, 0, 10), "loss_g": np.linspace(0, 1, 10)})
    ax = viz.plot_curves(df, smooth=3, title="losses")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["loss_d", "loss_g"]
    assert len(ax.lines) == 4 and ax.get_title() == "losses"
    with pytest.raises(ValueError, match="nope"):
        viz.plot_curves(df, ys=["nope"])


def test_slider_builds_widgets():
    import ipywidgets as W

    calls = []
    w = viz.slider(lambda t, k, mode: calls.append((t, k, mode)), t=(0.0, 1.0), k=(1, 5, 1, 3), mode=["a", "b"])
    kinds = {c.description: type(c) for c in w.children if hasattr(c, "description")}
    assert kinds["t"] is W.FloatSlider and kinds["k"] is W.IntSlider and kinds["mode"] is W.Dropdown
    assert calls and calls[-1] == (0.0, 3, "a")
    with pytest.raises(ValueError, match="min must be < max"):
        viz.slider(lambda t: None, t=(1.0, 0.0))

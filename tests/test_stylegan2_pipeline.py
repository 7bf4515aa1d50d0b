"""The seed's pipeline: alignment, projection, style mixing, Poisson blending, the measures."""
import numpy as np
import pytest
import torch

from helpers import glcic
from helpers import stylegan2 as sg
from helpers.faces.analysis import AnalysisNet
from helpers.stylegan2 import evaluate as ev
from helpers.stylegan2.project import latent_noise_scale, learning_rate, masked_perceptual


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return AnalysisNet(64, (8, 8, 16, 16, 16), 16, 8, 32).eval().requires_grad_(False)


@pytest.fixture(scope="module")
def G():
    torch.manual_seed(1)
    return sg.build(sg.Config(size=64, z_dim=16, w_dim=16, n_mlp=2, channel_base=256, channel_max=16))[0].eval()


def pc(**kw):
    return sg.ProjectConfig(**{"steps": 8, "perceptual": "analysis", "w_avg_samples": 256, **kw})


def test_schedule_is_the_reference():
    c = sg.ProjectConfig()
    assert learning_rate(0.0, c) == 0.0 and learning_rate(0.5, c) == pytest.approx(0.1)
    assert learning_rate(0.025, c) == pytest.approx(0.05)          # half way through the warm-up
    assert learning_rate(0.875, c) == pytest.approx(0.05)          # half way down the cosine
    assert latent_noise_scale(0.0, c, 2.0) == pytest.approx(0.1) and latent_noise_scale(0.8, c, 2.0) == 0.0
    assert sg.ProjectConfig.for_profile("full").steps == 1000
    with pytest.raises(ValueError, match="space"):
        sg.ProjectConfig(space="z")
    with pytest.raises(ValueError, match="perceptual"):
        sg.ProjectConfig(perceptual="vgg")


def test_noise_regularisation_penalises_smooth_noise():
    g = torch.Generator().manual_seed(0)
    white = [torch.randn(1, 1, 32, 32, generator=g)]
    smooth = [torch.linspace(-1, 1, 32).expand(1, 1, 32, 32).clone()]
    assert sg.noise_regularisation(smooth) > 50 * sg.noise_regularisation(white)


def test_projection_improves_and_batches_are_independent(G, net):
    target = G.sample(2, seed=5)
    p = sg.project(G, target, config=pc(steps=12, record_every=4), net=net)
    assert p.ws.shape == (2, G.num_ws, G.w_dim) and p.image.shape == target.shape
    h = p.history
    assert list(h["step"]) == [0, 4, 8, 12] and h["perceptual"].iloc[-1] < h["perceptual"].iloc[0]
    one = sg.project(G, target[1:], config=pc(steps=12, seed=1), net=net)
    # a batch = independent projections: batched convolutions round differently and Adam's
    # normalised steps amplify that to ~0.02 here, while a shared noise stream or loss moves ~1
    assert (one.ws - p.ws[1:]).abs().max() < 0.1
    w = sg.project(G, target, config=pc(space="w"), net=net)
    assert torch.equal(w.ws[:, 0], w.ws[:, -1])                  # W: one latent for all layers
    with pytest.raises(ValueError, match="target"):
        sg.project(G, torch.zeros(1, 3, 32, 32), config=pc(), net=net)


def test_masked_projection_ignores_the_masked_pixels(G, net):
    target = G.sample(1, seed=6)
    mask = torch.zeros(1, 1, 64, 64)
    mask[..., 30:60, 10:50] = 1
    other = target.clone()
    other[..., 30:60, 10:50] = torch.rand(1, 3, 30, 40) * 2 - 1          # change only the hidden part
    a = sg.project(G, target, mask, config=pc(), net=net)
    b = sg.project(G, other, mask, config=pc(), net=net)
    assert torch.allclose(a.ws, b.ws, atol=1e-5)
    c = sg.project(G, other, config=pc(), net=net)                       # the plain projection sees it
    assert not torch.allclose(a.ws, c.ws, atol=1e-3)
    known = 1 - mask          # the weighting: a difference only in the hole counts less than everywhere
    x, y = target * known, target * known
    y = y + 0.5 * mask
    assert masked_perceptual(x, y, known, net) < masked_perceptual(x, y, torch.ones_like(known), net)


def test_align_and_unalign_round_trip():
    s = sg.make_scenes(1, 64)[0]
    img, M, lm = sg.align_face(s.unmasked, s.unmasked_landmarks, 64)
    assert img.shape == (64, 64, 3)
    eyes = (lm[36:42].mean(0) + lm[42:48].mean(0)) / 2
    assert abs(lm[36:42].mean(0)[1] - lm[42:48].mean(0)[1]) < 0.5      # eyes level
    assert 25 < eyes[0] < 39                                              # centred
    back = sg.unalign(img, M, (64, 64))
    face = ev.face_polygon(s.unmasked_landmarks)
    inside = np.zeros((64, 64), bool)
    import cv2
    m = np.zeros((64, 64), np.uint8)
    cv2.fillPoly(m, [np.round(face).astype(np.int32)], 1)
    inside = m > 0
    assert np.abs(back.astype(float) - s.unmasked.astype(float))[inside].mean() < 12


def test_scenes_have_the_truth():
    s = sg.make_scenes(2, 64, mole=True)
    a = s[0]
    assert a.mask.any() and a.identity >= 200_000 and set(a.donors) == {"happiness", "surprise"}
    assert np.array_equal(a.masked[a.mask == 0], a.truth[a.mask == 0])
    assert not np.array_equal(a.masked, a.truth)
    assert a.donors["happiness"]["identity"] != a.identity
    assert ev.mole_contrast(a.truth[None], a.mole_xy[None], 64 / 48)[0] > 30
    again = sg.make_scenes(2, 64, mole=True)
    assert np.array_equal(again[1].masked, s[1].masked)                   # deterministic


def test_poisson_blend_and_paste():
    photo = np.full((64, 64, 3), 120, np.uint8)
    gen = np.full((64, 64, 3), 200, np.uint8)
    gen[24:40, 24:40] = 240
    mask = np.zeros((64, 64), np.uint8)
    mask[16:48, 16:48] = 1
    out = sg.poisson_blend(photo, gen, mask, dilate=1)
    outside = np.ones((64, 64), bool)
    outside[15:49, 15:49] = False
    assert np.array_equal(out[outside], photo[outside])                  # untouched outside the region
    assert abs(float(out[18, 18].mean()) - 120) < 5                      # the border takes the photo's colour
    assert float(out[32, 32].mean()) > float(out[18, 18].mean()) + 30    # the gradient of `gen` is kept
    pasted = sg.paste(photo, gen, mask)
    assert ev.seam_energy(out[None], mask[None])[0] < 0.2 * ev.seam_energy(pasted[None], mask[None])[0]
    assert np.array_equal(sg.poisson_blend(photo, gen, np.zeros_like(mask)), photo)
    with pytest.raises(ValueError, match="mask"):
        sg.poisson_blend(photo, gen, mask[:10])


def test_mix_latents_uses_the_table(G):
    def fake(v):
        return sg.Projection(torch.full((1, G.num_ws, G.w_dim), float(v)),
                             [torch.full((1, 1, c.resolution, c.resolution), float(v)) for c in G.styled_convs()],
                             None, None, 0.0, {}, "analysis")
    m, u, e = fake(1), fake(2), fake(3)
    ws, noises = sg.mix_latents(G, m, u, e, sg.MixConfig())
    assert ws[0, :, 0].tolist() == [1, 1, 1, 1, 3, 3, 2, 2, 2, 2]
    # noise follows the layer's latent: conv of 4x4 (index 0) from M, 16x16 convs (indices 3, 4) M and E
    assert [float(n.flatten()[0]) for n in noises] == [1, 1, 1, 1, 3, 3, 2, 2, 2]
    ws, _ = sg.mix_latents(G, m, u, e, sg.MixConfig(convention="conv"))
    assert ws[0, :, 0].tolist() == [1, 1, 1, 3, 3, 2, 2, 2, 2, 2]
    with pytest.raises(ValueError, match="overlap"):
        sg.MixConfig(coarse=(4, 8), expression=(8,))


def test_measures_on_hand_made_faces():
    lm = np.zeros((1, 68, 2))
    lm[0, 36], lm[0, 45] = (20, 30), (44, 30)
    lm[0, 36:42], lm[0, 42:48] = (22, 30), (42, 30)
    lm[0, 36], lm[0, 45] = (20, 30), (44, 30)
    lm[0, 8], lm[0, 3], lm[0, 13] = (32, 78), (16, 50), (48, 50)
    j = ev.jaw_metrics(lm)
    assert j["jaw_width"][0] == pytest.approx(32 / 24) and j["jaw_length"][0] == pytest.approx(48 / 24, rel=0.02)
    flat = np.full((1, 32, 32, 3), 128, np.uint8)
    spot = flat.copy()
    spot[0, 15:18, 15:18] = 20
    assert ev.mole_contrast(spot, np.array([[16.0, 16.0]]), 1.0)[0] > 50
    assert abs(ev.mole_contrast(flat, np.array([[16.0, 16.0]]), 1.0)[0]) < 1e-6


def test_complete_runs_every_variant(G, net):
    scenes = sg.make_scenes(2, 64)
    C = glcic.CompletionNet(0.125).eval()
    cache = {}
    res = sg.complete(G, scenes, sg.VARIANTS, pc(steps=3), inpaint=glcic.evaluate.model_fn(C), net=net, cache=cache)
    assert set(res) == set(sg.VARIANTS)
    for v, r in res.items():
        assert r.result.shape == (2, 64, 64, 3) and r.result.dtype == np.uint8
        keep = np.stack([s.mask for s in scenes]) == 0
        far = np.stack([np.ones((64, 64), bool)] * 2)
        import cv2
        for i, s in enumerate(scenes):
            far[i] = cv2.dilate(s.mask, np.ones((7, 7), np.uint8)) == 0
        assert np.array_equal(r.result[far], np.stack([s.masked for s in scenes])[far]), v
        assert keep.any()
    assert {"masked", "masked_masked", "unmasked", "inpainted"} <= set(cache)
    with pytest.raises(ValueError, match="unknown variants"):
        sg.complete(G, scenes, ["magic"], pc(), net=net)


def test_straight_through_clamp_is_exact_for_huge_values():
    """The projector feeds the distances generated images clamped in value but not in gradient; at
    |x| ~ 1e7 the old ``x + (clamp - x)`` rounded to 0 or 2 and the analysis network refused them."""
    from importlib import import_module
    in_range = import_module("helpers.stylegan2.project")._in_range
    x = torch.tensor([3e7, -5e8, 0.25, 1.5, -1.0], requires_grad=True)
    y = in_range(x)
    assert torch.equal(y.detach(), torch.tensor([1.0, -1.0, 0.25, 1.0, -1.0]))
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones(5))


def test_demo_generator_projection_improves_at_the_demo_learning_rate():
    """At the reference lr 0.1 a W+ projection of the committed demo generator diverges (PSNR falls);
    at DEMO_LR it must rise. Two SynthFaces test people, 40 steps."""
    from helpers.core.images import to_tensor
    from helpers.synthfaces import render
    torch.set_num_threads(2)
    G = sg.load_release("stylegan2_64").G_ema
    imgs = torch.stack([to_tensor(render(200_000 + i, size=G.size, seed=i)["image"]) for i in range(2)])
    cfg = sg.ProjectConfig(steps=40, space="w+", perceptual="analysis", record_every=40, w_avg_samples=2000,
                           lr=sg.DEMO_LR)
    h = sg.project(G, imgs, config=cfg).history
    assert h["psnr"].iloc[-1] > h["psnr"].iloc[0] + 1.0, h[["step", "psnr"]]

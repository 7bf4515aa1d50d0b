"""The face-analysis network: the committed release reproduces its manifest, the reading API,
the perceptual/style/identity measures, bad input, and the training path on the shared loop."""
import io
import json
import sys
import types
from pathlib import Path

import pytest
import torch

from helpers.analysis import data as AD, evaluate as E, figures as AF
from helpers.analysis.data import BANK_KEYS, augment, gaussian_blur
from helpers.analysis.model import Config
from helpers.analysis.train import load_release, release, train
from helpers.core import release as rel
from helpers.core.runtime import CHECKPOINT_DIR, REPO_ROOT
from helpers.faces import analysis as A
from helpers.faces import detect
from helpers.synthfaces import bank

RELEASE = "analysis128"


@pytest.fixture(scope="module")
def net():
    return A.load(RELEASE)


@pytest.fixture(scope="module")
def faces():
    """8 faces of unseen people at 128 px (half masked) with their labels."""
    d = bank(8, 128, 5, 0, keys=BANK_KEYS, progress=False, identities=list(range(100_000, 100_004)),
             mask_prob=0.5)
    return d, d["image"].float() / 127.5 - 1


# ----------------------------------------------------------------------------- the release
def test_release_reproduces_its_manifest_on_the_check_set(net):
    files = sorted(Path(CHECKPOINT_DIR).glob("analysis*.safetensors"))
    assert files, "no checkpoints/analysis*.safetensors"
    m = rel.read_manifest(RELEASE)
    stored = m["metrics"]["check"]
    assert stored["spec"] == {k: (list(v) if isinstance(v, range) else v) for k, v in AD.CHECK_SPEC.items()}
    now = E.check_metrics(net)
    tol = {"nme": 2e-3, "nme_mouth": 3e-3, "nme_eyes": 2e-3, "au_mae": 5e-3, "au_corr": 1e-2,
           "expression_acc": 1 / 48 + 1e-9, "smiling_acc": 1 / 48 + 1e-9, "pose_mae": 0.1, "yaw_mae": 0.15,
           "pitch_mae": 0.15, "roll_mae": 0.15, "identity_auc": 5e-3, "identity_eer": 2e-2}
    for k, t in tol.items():
        assert now[k] == pytest.approx(stored[k], abs=t), (k, now[k], stored[k])


def test_release_manifest_is_complete_and_small():
    m = rel.read_manifest(RELEASE)
    assert m["bytes"] < 10e6 and m["dtype"] == "float16"
    assert sum(p.stat().st_size for p in Path(CHECKPOINT_DIR).glob("*.safetensors")) < 100e6
    acc = m["metrics"]["accuracy"]
    assert set(acc) == {"64_unmasked", "64_masked", "128_unmasked", "128_masked"}
    for cond in acc.values():
        assert set(E.SUMMARY_KEYS) <= set(cond) and len(cond["per_au"]) == 17
    assert m["command"].startswith("python -m helpers.analysis train")
    assert m["metrics"]["test_identities"][0] >= 100_000 > m["config"]["n_identities"]
    u = acc["128_unmasked"]          # it must actually read faces (much better than chance)
    assert u["nme"] < 0.1 and u["expression_acc"] > 0.5 and u["identity_auc"] > 0.8
    assert len(E.findings(m)) >= 3
    assert E.summary_table(m["metrics"]).shape == (4, len(E.SUMMARY_KEYS))


# ----------------------------------------------------------------------------- reading faces
def test_analyse_keys_shapes_and_input_sizes(net, faces):
    d, x = faces
    for size in (32, 64, 100, 256):
        xs = torch.nn.functional.interpolate(x[:2], size=(size, size), mode="bilinear", antialias=True)
        r = A.analyse(xs.clamp(-1, 1), net, batch=1)
        assert r["landmarks"].shape == (2, 68, 2) and r["aus"].shape == (2, 17)
        assert r["expression_logits"].shape == (2, 8) and r["smiling_prob"].shape == (2,)
        assert r["pose"].shape == (2, 3) and r["features"].shape == (2, net.feature_dim)
        assert torch.allclose(r["identity"].norm(dim=1), torch.ones(2), atol=1e-4)
        assert float(r["aus"].min()) >= 0 and float(r["aus"].max()) <= 3
        # landmarks are in pixels of the input: compare with the truth rescaled to that size
        gt = (d["landmarks"][:2] + 0.5) * size / 128 - 0.5
        nme = (r["landmarks"] - gt).norm(dim=-1).mean(1) / (gt[:, 45] - gt[:, 36]).norm(dim=1)
        assert float(nme.max()) < (0.2 if size == 32 else 0.12), (size, nme)


@pytest.mark.parametrize("bad, match", [
    (torch.zeros(2, 1, 64, 64), r"\(N, 3, H, W\)"),
    (torch.zeros(2, 3, 64, 64, dtype=torch.uint8), "float"),
    (torch.full((2, 3, 64, 64), 2.0), r"\[-1, 1\]"),
    (torch.zeros(2, 3, 16, 16), "at least 32x32"),
    (torch.zeros(1, 3, 300, 300), "at most 256x256"),
    (torch.zeros(3, 64, 64), r"\(N, 3, H, W\)"),
    (torch.zeros(0, 3, 64, 64), "empty"),
])
def test_bad_input_raises_value_error(net, bad, match):
    with pytest.raises(ValueError, match=match):
        A.analyse(bad, net)


def test_perceptual_style_and_identity_measures(net, faces):
    d, x = faces
    a, b = x[:4], x[4:]
    assert torch.allclose(A.perceptual_distance(a, a, net), torch.zeros(4), atol=1e-6)
    g = torch.Generator().manual_seed(0)
    near = A.perceptual_distance(a, (a + 0.05 * torch.randn(a.shape, generator=g)).clamp(-1, 1), net)
    far = A.perceptual_distance(a, (a + 0.3 * torch.randn(a.shape, generator=g)).clamp(-1, 1), net)
    assert bool((near > 0).all()) and bool((far > near).all())
    # differentiable: gradients reach the input of both losses
    y = b.clone().requires_grad_(True)
    loss = A.perceptual_loss(y, a, net) + 10 * A.style_loss(y, a, net)
    loss.backward()
    assert y.grad is not None and torch.isfinite(y.grad).all() and float(y.grad.abs().sum()) > 0
    # identity: faces 0/1 and 2/3 ... of the bank are drawn from 4 people; same person = closer
    ids = d["identity"]
    emb = A.analyse(x, net)["identity"]
    dmat = 1 - emb @ emb.T
    same = (ids[:, None] == ids[None]) & ~torch.eye(8, dtype=torch.bool)
    diff = ids[:, None] != ids[None]
    assert float(dmat[same].mean()) < float(dmat[diff].mean())
    dd = A.identity_distance(x[:2], x[:2], net=net)
    assert torch.allclose(dd, torch.zeros(2), atol=1e-5)
    with pytest.raises(ValueError, match="backend"):
        A.identity_distance(a, b, backend="openface", net=net)
    with pytest.raises(ValueError, match="same shape"):
        A.perceptual_distance(a, b[:2], net)


@pytest.mark.skipif(not detect.available(), reason="dlib (the faces extra) is not installed")
def test_identity_distance_dlib_backend_on_given_landmarks(faces):
    d, x = faces
    up = torch.nn.functional.interpolate(x[:2], size=(256, 256), mode="bilinear").clamp(-1, 1)
    lm = (d["landmarks"][:2].numpy() + 0.5) * 2 - 0.5
    dist = A.identity_distance(up, up, backend="dlib", landmarks_a=lm, landmarks_b=lm)
    assert dist.shape == (2,) and float(dist.max()) < 1e-4


def test_inception_wrapper_plumbing_with_a_stand_in_network(monkeypatch):
    """The Inception extractor feeds uint8 NCHW batches and turns logits into probabilities."""
    seen = []

    class StandIn(torch.nn.Module):
        def __init__(self, name, features_list, **kw):
            super().__init__()
            assert features_list == ["2048", "logits_unbiased"]

        def forward(self, u8):
            seen.append((u8.dtype, tuple(u8.shape)))
            f = u8.float().mean((2, 3))
            return f.repeat(1, 4), f[:, :2]
    fake = types.ModuleType("torch_fidelity.feature_extractor_inceptionv3")
    fake.FeatureExtractorInceptionV3 = StandIn
    monkeypatch.setitem(sys.modules, "torch_fidelity", types.ModuleType("torch_fidelity"))
    monkeypatch.setitem(sys.modules, "torch_fidelity.feature_extractor_inceptionv3", fake)
    ext = A.feature_extractor("inception", batch=3)
    x = torch.rand(5, 3, 40, 40) * 2 - 1
    assert ext.features(x).shape == (5, 12)
    assert torch.allclose(ext.probabilities(x).sum(1), torch.ones(5))
    assert seen[0] == (torch.uint8, (3, 3, 40, 40)) and "comparable with published" in ext.note


def test_lpips_without_weights_is_a_clear_error(monkeypatch):
    A._lpips_model.cache_clear()
    monkeypatch.setitem(sys.modules, "lpips", None)
    with pytest.raises(A.WeightsUnavailableError, match="pip install lpips"):
        A.lpips_distance(torch.zeros(1, 3, 64, 64), torch.zeros(1, 3, 64, 64))
    A._lpips_model.cache_clear()


def test_demo_figures_for_notebook_00(net):
    from matplotlib.figure import Figure

    out = AF.demo_figures(net, n_faces=3, n_fid=24, levels=(0.0, 0.3), blur=(0.0, 2.0))
    assert set(out) == {"readings", "table", "fid", "fid_table"}
    assert len(out["table"]) == 3 and {"expression", "true expression", "NME"} <= set(out["table"].columns)
    assert set(out["fid_table"].kind) == {"self", "noise", "blur"}
    assert isinstance(out["readings"], Figure) and isinstance(out["fid"], Figure)
    out["fid"].savefig(io.BytesIO(), format="png")


# ----------------------------------------------------------------------------- training path
def test_quick_training_release_and_load_round_trip(tmp_path):
    cfg = Config.quick(steps=6, eval_every=3, n_train=48, n_identities=12, n_val=16)
    res = train(cfg, tmp_path / "run", progress=False)
    assert res.done and "val_nme" in res.history.columns
    path = release(res, "analysis_test", "python -m helpers.analysis train --profile quick", n_test=16,
                   directory=tmp_path)
    m = json.loads(path.with_suffix(".json").read_text())
    assert m["dtype"] == "float16" and "check" in m["metrics"] and "64_masked" in m["metrics"]["accuracy"]
    r = load_release("analysis_test", tmp_path)
    net = r.net
    assert net.input_size == 64 and not net.training and r.config == cfg and r.metrics == m["metrics"]
    assert net is A.load("analysis_test", tmp_path)          # the one cached copy every measure reads with
    assert E.check_metrics(net)["nme"] == pytest.approx(m["metrics"]["check"]["nme"], abs=1e-3)


def test_augment_is_deterministic_and_in_range():
    cfg = Config.quick(p_lowres=1.0, p_blur=1.0, p_noise=1.0, p_colour=1.0)
    x = torch.rand(6, 3, 64, 64) * 2 - 1
    a = augment(x, cfg, torch.Generator().manual_seed(1))
    b = augment(x, cfg, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and float(a.abs().max()) <= 1 and not torch.equal(a, x)
    assert torch.allclose(gaussian_blur(x, torch.zeros(6)), x, atol=1e-4)


def test_faces_layer_does_not_import_synthfaces():
    """helpers.faces.analysis and everything it imports from helpers stay below synthfaces/methods."""
    import ast

    seen, todo = set(), ["helpers.faces.analysis"]
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.add(mod)
        path = REPO_ROOT / (mod.replace(".", "/") + ".py")
        if not path.exists():
            path = REPO_ROOT / mod.replace(".", "/") / "__init__.py"
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] + [f"{node.module}.{a.name}" for a in node.names
                                      if (REPO_ROOT / node.module.replace(".", "/") / f"{a.name}.py").exists()]
                     if isinstance(node, ast.ImportFrom) and node.module else [])
            todo += [n for n in names if n.startswith("helpers.")]
    bad = sorted(m for m in seen if m.startswith(("helpers.synthfaces", "helpers.analysis")))
    assert not bad and "helpers.faces.detect" in seen, bad

"""The committed GANimation releases: each loads (sha256 checked) and reproduces its manifest.

The check numbers are recomputed from the stored weights, never read back. Pixel and attention
measures need nothing else; the analysis-network measures are compared only when the analysis
release that made them (its sha256 is in the manifest) is the one in checkpoints/ now.
"""
from __future__ import annotations

import json

import pytest
import torch

from helpers.core import release as rel, runtime
from helpers.ganimation import evaluate as E
from helpers.ganimation import VARIANT_LABELS, load_release
from helpers.ganimation.data import edit_set

NAMES = sorted(p.stem for p in runtime.CHECKPOINT_DIR.glob("ganimation_*.json"))
REQUIRED = ("ganimation_resnet64", "ganimation_convnext64")
PIXEL = ("psnr", "ssim", "leak", "att_mean", "att_std")
ANALYSIS = ("au_mae", "identity_dist", "perceptual")


@pytest.fixture(autouse=True)
def _threads():
    n = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(n)


def _analysis_sha() -> str | None:
    try:
        return rel.read_manifest("analysis128")["sha256"]
    except FileNotFoundError:
        return None


def test_the_required_releases_are_committed_and_small():
    assert set(REQUIRED) <= set(NAMES), f"missing releases {set(REQUIRED) - set(NAMES)}"
    total = 0
    for name in NAMES:
        man = rel.read_manifest(name)
        assert man["command"].startswith("python -m helpers.ganimation train --profile demo"), man["command"]
        assert man["dtype"] == "float16" and man["bytes"] < 10e6
        assert man["data"]["licence"].startswith("MIT")
        total += man["bytes"]
    assert total < 25e6


@pytest.mark.parametrize("name", NAMES)
def test_release_reproduces_its_check(name):
    r = load_release(name)
    man = r.manifest
    check = man["metrics"]["check"]
    same_net = check.get("analysis") is not None and check["analysis"] == _analysis_sha()
    again = E.check_measures(r.G, r.config.size, None if same_net else False)
    for k in PIXEL + (ANALYSIS if same_net else ()):
        assert again[k] == pytest.approx(check[k], rel=2e-3, abs=2e-4), (name, k, again[k], check[k])


@pytest.mark.parametrize("name", [n for n in REQUIRED if n in NAMES])
def test_release_reproduces_its_headline_pixels(name):
    """The 512 test edits of the manifest: PSNR to the truth, leak and attention, recomputed."""
    r = load_release(name)
    m = r.metrics
    es = edit_set("random", m["sizes"]["random"], r.config.size)
    s = E.summarise(E.measure(r.G, es, False), es)
    for k in ("psnr", "psnr_noedit", "leak", "att_mean", "att_high"):
        assert s[k] == pytest.approx(m["random"][k], rel=2e-3, abs=2e-4), (name, k)


def test_manifests_carry_the_ablation_and_the_curves():
    for name in NAMES:
        m = json.loads((runtime.CHECKPOINT_DIR / f"{name}.json").read_text())
        assert m["metrics"]["variant"] in VARIANT_LABELS
        assert len(m["curve"]) >= 2 and "test_att_mean" in m["curve"][0]
        assert len(m["metrics"]["train_log"]) >= 10

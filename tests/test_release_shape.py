"""Every method's ``load_release`` returns one type, ``helpers.core.release.Release``, and takes names only."""
import importlib

import pytest
import torch

from helpers.core import release as rel

pytestmark = pytest.mark.usefixtures("one_thread")

#: (module, loader, a committed release it loads, the model names it holds)
LOADERS = [
    ("helpers.dcgan.train", "load_release", "dcgan64", {"G", "D"}),
    ("helpers.analysis.train", "load_release", "analysis128", {"net"}),
    ("helpers.glcic.train", "load_release", "glcic_mouth64_v3", {"C"}),
    ("helpers.lafin.train", "load_predictor", "lafin_ours128", None),
    ("helpers.lafin.train", "load_inpainter", "lafin_inpaint128", None),
    ("helpers.stylegan2.train", "load_release", "stylegan2_64", None),
    ("helpers.ganimation.train", "load_release", "ganimation_resnet64", {"G"}),
    ("helpers.idvae.train", "load_release", "idvae_4_iterated64", {"G"}),
]


def _loader(module, fn):
    return getattr(importlib.import_module(module), fn)


@pytest.mark.parametrize("module,fn,name,models", LOADERS, ids=[f"{m.split('.')[1]}.{f}" for m, f, _, _ in LOADERS])
def test_load_release_returns_a_release(module, fn, name, models):
    r = _loader(module, fn)(name)
    assert isinstance(r, rel.Release) and r.name == name
    assert r.models and all(isinstance(m, torch.nn.Module) for m in r.models.values())
    if models is not None:
        assert set(r.models) == models
    assert r.manifest["name"] == name and r.metrics is r.manifest["metrics"]
    assert r.config is not None and name in repr(r)


@pytest.mark.parametrize("module,fn,name,models", LOADERS, ids=[f"{m.split('.')[1]}.{f}" for m, f, _, _ in LOADERS])
@pytest.mark.parametrize("bad", ["../../x", "a/b", "/etc/passwd"])
def test_load_release_takes_names_only(module, fn, name, models, bad):
    with pytest.raises(ValueError, match="release name"):
        _loader(module, fn)(bad)

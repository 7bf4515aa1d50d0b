"""Published StyleGAN2 weights: NVIDIA .pkl and rosinality .pt, loaded without running code from them.

The tests build files of both formats themselves (no download): our model -> the format -> back must
give the same images; pickles that try to run code must be refused before anything runs.
"""
import os
import pickle
import pickletools
import sys
from pathlib import Path

import pytest
import torch

from helpers.stylegan2 import official as O
from helpers.stylegan2.model import Discriminator, Generator

REFERENCES = {"rosinality": Path(os.environ.get("STYLEGAN2_REFERENCE", "/tmp/ref/rosinality"))}


pytestmark = pytest.mark.usefixtures("one_thread")


def nets(size=32, clamp=None):
    torch.manual_seed(0)
    G = Generator(size, 24, 24, 3, 0.01, 256, 32, clamp).eval()
    D = Discriminator(size, 256, 32).eval()
    with torch.no_grad():          # non-trivial values everywhere (the zero-initialised ones too)
        for p in list(G.parameters()) + list(D.parameters()):
            p.add_(torch.randn_like(p) * 0.1)
        G.w_avg.normal_()
    return G, D


def same_images(a: Generator, b: Generator, atol=0.0):
    z = torch.randn(3, a.z_dim, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        x, y = a(z, psi=0.7, noise_mode="const"), b(z, psi=0.7, noise_mode="const")
    return float((x - y).abs().max()) <= atol


def test_nvidia_pickle_round_trip(tmp_path):
    G, _ = nets(clamp=256.0)
    path = O.write_nvidia_like_pkl(tmp_path / "net.pkl", G, extra={"resolution": 32})
    text = [arg for _, arg, _ in pickletools.genops(path.read_bytes()) if isinstance(arg, str)]
    assert "_reconstruct_persistent_obj" in text and "EasyDict" in text     # NVIDIA's structure
    G2, D2, info = O.load_nvidia_pkl(path)
    assert D2 is None and info["size"] == 32 and info["training_set_kwargs"] == {"resolution": 32}
    assert G2.arch == G.arch and torch.equal(G2.w_avg, G.w_avg)
    assert same_images(G, G2)
    # the placeholder writer modules are gone again
    assert "torch_utils.persistence" not in sys.modules and "dnnlib.util" not in sys.modules


def test_rosinality_pt_round_trip_with_namespace_args(tmp_path):
    G, D = nets()
    path = O.write_rosinality_pt(tmp_path / "net.pt", G, D, args={"batch": 16})
    with pytest.raises(pickle.UnpicklingError):            # plain weights_only refuses the Namespace...
        torch.load(path, weights_only=True)
    G2, D2, info = O.load_rosinality_pt(path, discriminator=True)   # ...our loader allows just that class
    assert info["args"]["batch"] == 16 and info["args"]["lr_mlp"] == 0.01
    assert same_images(G, G2)
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    assert torch.equal(D(x), D2(x))
    # the rosinality layout itself: its key names and shapes
    ro = O.to_rosinality(G, D)["g_ema"]
    assert ro["input.input"].shape == (1, 32, 4, 4) and ro["conv1.conv.weight"].shape[0] == 1
    assert "to_rgbs.2.conv.modulation.weight" in ro and "noises.noise_6" in ro and "style.3.weight" in ro


def test_rosinality_without_latent_avg_computes_the_mean_latent(tmp_path):
    G, _ = nets()
    ck = O.to_rosinality(G)
    del ck["latent_avg"]
    torch.save(ck, tmp_path / "conv.pt")
    G2, _, _ = O.load_rosinality_pt(tmp_path / "conv.pt")
    assert torch.allclose(G2.w_avg, G.mean_w(4096, seed=0)[0], atol=1e-6)


class RunsCommand:
    """Pickles as a call of os.system (what a malicious weights file does)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class RunsExec:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


@pytest.mark.parametrize("payload", [RunsCommand, RunsExec])
def test_hostile_pickle_is_refused_before_anything_runs(tmp_path, payload):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"G_ema": payload(marker)}))
    with pytest.raises(O.UnsafePickleError, match="refused to unpickle (posix|nt|os|builtins)"):
        O.load_nvidia_pkl(path)
    assert not marker.exists()
    with pytest.raises(O.UnsafePickleError):
        O.load_official(path)
    assert not marker.exists()


def test_persistent_source_code_is_never_executed(tmp_path):
    """NVIDIA's format carries module source; a real unpickler would exec it. Ours never reads it."""
    G, _ = nets()
    marker = tmp_path / "ran"
    src = f"open({str(marker)!r}, 'w').write('ran')\n"
    path = O.write_nvidia_like_pkl(tmp_path / "net.pkl", G, module_src=src)
    assert src.encode() in path.read_bytes()
    G2, _, _ = O.load_nvidia_pkl(path)
    assert not marker.exists() and same_images(G, G2)
    assert "source code ignored" in repr(O.safe_pickle_load(path)["G_ema"])


def test_hostile_pt_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"g_ema": {}, "args": RunsCommand(marker)}, tmp_path / "evil.pt")
    with pytest.raises(O.UnsafePickleError, match="system"):
        O.load_rosinality_pt(tmp_path / "evil.pt")
    assert not marker.exists()


def test_malformed_files_give_clear_errors(tmp_path):
    (tmp_path / "x.pkl").write_bytes(pickle.dumps({"G": 1}))
    with pytest.raises(ValueError, match="G_ema"):
        O.load_nvidia_pkl(tmp_path / "x.pkl")
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="not a readable"):
        O.load_nvidia_pkl(tmp_path / "junk.pkl")
    torch.save({"state": {}}, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="g_ema"):
        O.load_rosinality_pt(tmp_path / "x.pt")
    with pytest.raises(ValueError, match=".pkl"):
        (tmp_path / "w.bin").write_bytes(b"")
        O.load_official(tmp_path / "w.bin")
    with pytest.raises(FileNotFoundError):
        O.load_official(tmp_path / "missing.pkl")


def test_download_pins_and_checks_sha256(tmp_path, monkeypatch):
    src = tmp_path / "src" / "weights.pkl"
    src.parent.mkdir()
    src.write_bytes(b"weights v1")
    monkeypatch.setitem(O.OFFICIAL, "toy", {"url": src.as_uri(), "sha256": None, "note": "test"})
    path = O.download("toy", tmp_path / "cache", progress=False)
    assert path.read_bytes() == b"weights v1" and (path.parent / "weights.pkl.sha256").exists()
    assert O.download("toy", tmp_path / "cache", progress=False) == path          # pinned hash matches
    path.write_bytes(b"tampered")
    with pytest.raises(ValueError, match="sha256"):
        O.download("toy", tmp_path / "cache", progress=False)
    monkeypatch.setitem(O.OFFICIAL, "gone", {"url": (tmp_path / "nothing.pkl").as_uri(), "sha256": None, "note": ""})
    with pytest.raises(RuntimeError, match="could not download"):
        O.download("gone", tmp_path / "cache", progress=False)
    with pytest.raises(ValueError, match="unknown weights"):
        O.download("ffhq9999")
    assert all(O.OFFICIAL[k]["url"].startswith("https://nvlabs-fi-cdn.nvidia.com/") for k in ("ffhq1024", "ffhq256"))


@pytest.mark.skipif(not (REFERENCES["rosinality"] / "model.py").exists(),
                    reason="no local checkout of rosinality/stylegan2-pytorch (set STYLEGAN2_REFERENCE)")
def test_same_function_as_rosinality_reference():
    from helpers.stylegan2.bench import reference_equivalence
    r = reference_equivalence(REFERENCES["rosinality"], size=32, channel_multiplier=1, w_dim=32)
    assert r["image_max_abs_diff"] < 1e-4 * max(1.0, r["image_std"]) and r["logit_max_abs_diff"] < 1e-4


def test_nvidia_pickle_with_a_missing_field_names_the_file_and_the_field(tmp_path, monkeypatch):
    """A pickle in NVIDIA's format whose generator lacks ``img_resolution`` (neither as an attribute
    nor in its constructor arguments) is refused with the file and the field named, not a KeyError."""
    G, _ = nets()
    tree = O._module_tree

    def without_resolution(flat, names, root, attrs):
        node = tree(flat, names, root, attrs)
        if root == "":
            node.state.pop("img_resolution")
            node.state["_init_kwargs"].pop("img_resolution")
        return node

    monkeypatch.setattr(O, "_module_tree", without_resolution)
    path = O.write_nvidia_like_pkl(tmp_path / "no_resolution.pkl", G)
    with pytest.raises(O.IncompletePickleError, match=r"no_resolution\.pkl.*'img_resolution'") as err:
        O.load_nvidia_pkl(path)
    assert isinstance(err.value, ValueError) and err.value.field == "img_resolution"
    assert err.value.path == path

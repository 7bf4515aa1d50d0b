"""Published StyleGAN2 weights in this model, loaded without running any code from the file.

Two formats exist (what Colab users load for real photos; the SynthFaces demo release is ours):

- NVIDIA ``stylegan2-ada-pytorch`` ``.pkl`` (e.g. FFHQ 1024): a pickle of a dict
  ``{"G", "D", "G_ema", ...}`` whose networks are *persistent objects*: each carries the source
  code of its Python module, and NVIDIA's unpickler ``exec``-utes that code to rebuild the class.
  ``pickle.load`` on such a file runs whatever code it holds. :class:`SafeUnpickler` resolves only
  an allow-list of plain-data constructors (tensors, storages, dicts, numpy scalars, dtypes);
  NVIDIA's reconstruction hook is mapped to :func:`persistent_stub`, which keeps the object's
  state (parameters, buffers, children, constructor arguments) and *never looks at* the source.
  Anything else (``os.system``, ``builtins.exec``, ``subprocess.Popen`` ...) raises
  :class:`UnsafePickleError` before it could be called. Tensor storages inside the pickle are
  read with ``torch.load(weights_only=True)``.
- rosinality ``stylegan2-pytorch`` ``.pt``: a ``torch.save`` dict (``g_ema``, ``d``, ``g``,
  ``latent_avg`` for converted official weights, optimiser states and an ``argparse.Namespace``
  ``args``). Read with ``torch.load(weights_only=True)``; ``argparse.Namespace`` (a plain
  attribute bag) is added to the allowed globals for that call only, so ``args`` does not force
  unsafe loading.

Both layouts are converted by renaming and reshaping tensors only (the equalised-learning-rate
conventions of both codes are ours, see ``model.py``); the architecture (size, widths, mapping depth,
lr multiplier, conv clamp) is read from the shapes and stored constructor arguments.
:func:`to_rosinality` / :func:`write_rosinality_pt` and :func:`to_nvidia_state` /
:func:`write_nvidia_like_pkl` write the other direction (the latter: NVIDIA's pickle *structure*
with a placeholder instead of source code — for tests and exchange, not loadable by NVIDIA's code);
the round trips are tested to give the same images.

Downloads are explicit (:func:`download`, :data:`OFFICIAL`). This course was written offline and
could not hash NVIDIA's files: an entry without a sha256 is pinned on first download (the hash
is written beside the file and checked on every later load), or pass ``sha256=`` yourself.
"""
from __future__ import annotations

import argparse
import contextlib
import math
import pickle
import re
import sys
import types
import urllib.request
from collections import OrderedDict
from pathlib import Path
from typing import Mapping

import numpy as np
import torch

from helpers.core.files import atomic_write, atomic_write_bytes, sha256
from helpers.core.release import check_state_dict
from helpers.core.runtime import RUNS_DIR
from helpers.stylegan2.model import Discriminator, Generator, channels
from helpers.core.safe_pickle import (EasyDict, PersistentStub, SafeUnpickler, UnsafePickleError, persistent_stub,
                                           safe_pickle_load, stub_state)

__all__ = ["UnsafePickleError", "IncompletePickleError", "SafeUnpickler", "PersistentStub", "EasyDict", "safe_pickle_load",
           "persistent_stub", "stub_state", "load_nvidia_pkl", "load_rosinality_pt", "load_official",
           "to_rosinality", "write_rosinality_pt", "to_nvidia_state", "write_nvidia_like_pkl", "OFFICIAL",
           "download", "WEIGHTS_DIR"]

WEIGHTS_DIR = RUNS_DIR / "weights"
NVIDIA_CDN = "https://nvlabs-fi-cdn.nvidia.com/stylegan2-ada-pytorch/pretrained"
#: published FFHQ generators (NVIDIA's CDN). sha256 None: pinned on first download (see module doc).
OFFICIAL = {
    "ffhq1024": {"url": f"{NVIDIA_CDN}/transfer-learning-source-nets/ffhq-res1024-mirror-stylegan2-noaug.pkl",
                 "sha256": None, "note": "StyleGAN2 config F, FFHQ 1024 (the paper's model), converted from TF"},
    "ffhq512": {"url": f"{NVIDIA_CDN}/transfer-learning-source-nets/ffhq-res512-mirror-stylegan2-noaug.pkl",
                "sha256": None, "note": "StyleGAN2 config F, FFHQ 512"},
    "ffhq256": {"url": f"{NVIDIA_CDN}/transfer-learning-source-nets/ffhq-res256-mirror-paper256-noaug.pkl",
                "sha256": None, "note": "StyleGAN2, FFHQ 256 (paper256 widths; lighter for Colab)"},
    "ffhq1024-ada": {"url": f"{NVIDIA_CDN}/ffhq.pkl", "sha256": None,
                     "note": "StyleGAN2-ADA, FFHQ 1024 (fp16 layers + conv clamp 256)"},
}


# ----------------------------------------------------------------------------- architecture from shapes
def _channel_rule(ch: Mapping[int, int]) -> tuple[int, int]:
    """(channel_base, channel_max) reproducing ``ch`` {resolution: channels} with NVIDIA's rule."""
    cmax = max(ch.values())
    smallest = min(r for r, c in ch.items() if c == min(ch.values()))
    base = ch[smallest] * smallest if ch[smallest] < cmax else cmax * max(ch)
    if any(channels(r, base, cmax) != c for r, c in ch.items()):
        raise ValueError(f"these channel counts do not follow min(base // r, max): {dict(sorted(ch.items()))}")
    return base, cmax


def _load_into(model: torch.nn.Module, sd: Mapping[str, torch.Tensor], what: str) -> None:
    own = model.state_dict()
    sd = {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}
    check_state_dict(what, model, sd)
    model.load_state_dict({k: sd[k].reshape(own[k].shape) for k in own})


# ----------------------------------------------------------------------------- NVIDIA
def _nv_to_ours_g(nv: Mapping[str, torch.Tensor], size: int, n_mlp: int) -> dict:
    out = {"w_avg": nv["mapping.w_avg"]}
    for i in range(n_mlp):
        for p in ("weight", "bias"):
            out[f"mapping.fcs.{i}.{p}"] = nv[f"mapping.fc{i}.{p}"]
    for j, r in enumerate(2 ** k for k in range(2, int(math.log2(size)) + 1)):
        b, o = f"synthesis.b{r}.", f"blocks.{j}."
        if r == 4:
            out[o + "const"] = nv[b + "const"]
        for c in (("conv1",) if r == 4 else ("conv0", "conv1")):
            out[f"{o}{c}.conv.weight"] = nv[f"{b}{c}.weight"]
            out[f"{o}{c}.conv.affine.weight"] = nv[f"{b}{c}.affine.weight"]
            out[f"{o}{c}.conv.affine.bias"] = nv[f"{b}{c}.affine.bias"]
            out[f"{o}{c}.bias"] = nv[f"{b}{c}.bias"]
            out[f"{o}{c}.noise_strength"] = nv[f"{b}{c}.noise_strength"].reshape(())
            out[f"{o}{c}.noise_const"] = nv[f"{b}{c}.noise_const"].reshape(1, 1, r, r)
        out[o + "torgb.conv.weight"] = nv[b + "torgb.weight"]
        out[o + "torgb.conv.affine.weight"] = nv[b + "torgb.affine.weight"]
        out[o + "torgb.conv.affine.bias"] = nv[b + "torgb.affine.bias"]
        out[o + "torgb.bias"] = nv[b + "torgb.bias"]
    return out


def _nv_to_ours_d(nv: Mapping[str, torch.Tensor], size: int) -> dict:
    out = {"fromrgb.conv.weight": nv[f"b{size}.fromrgb.weight"], "fromrgb.bias": nv[f"b{size}.fromrgb.bias"]}
    for k, r in enumerate(2 ** i for i in range(int(math.log2(size)), 2, -1)):
        for c in ("conv0", "conv1"):
            out[f"blocks.{k}.{c}.conv.weight"] = nv[f"b{r}.{c}.weight"]
            out[f"blocks.{k}.{c}.bias"] = nv[f"b{r}.{c}.bias"]
        out[f"blocks.{k}.skip.conv.weight"] = nv[f"b{r}.skip.weight"]
    out.update({"epilogue.conv.conv.weight": nv["b4.conv.weight"], "epilogue.conv.bias": nv["b4.conv.bias"],
                "epilogue.fc.weight": nv["b4.fc.weight"], "epilogue.fc.bias": nv["b4.fc.bias"],
                "epilogue.out.weight": nv["b4.out.weight"], "epilogue.out.bias": nv["b4.out.bias"]})
    return out


def _check_fir(nv: Mapping[str, torch.Tensor]) -> None:
    ref = torch.tensor([1.0, 3.0, 3.0, 1.0])
    ref = torch.outer(ref, ref) / 64
    for k, v in nv.items():
        if k.endswith("resample_filter") and (v.shape != ref.shape or not torch.allclose(v.float(), ref, atol=1e-6)):
            raise ValueError(f"{k}: only the [1, 3, 3, 1] resampling filter is supported, got {v.tolist()}")


class IncompletePickleError(ValueError):
    """A pickle in NVIDIA's format that lacks a field the conversion needs (``path``, ``field``)."""

    def __init__(self, path, field: str, network: str):
        self.path, self.field, self.network = path, field, network
        super().__init__(f"{path}: NVIDIA pickle's {network} has no field {field!r} (a truncated or hand-edited "
                         "file, or not stylegan2-ada-pytorch's format)")


def _field(stub: PersistentStub, key: str):
    """Attribute ``key`` of a network stub, else the constructor argument of that name (KeyError if neither)."""
    if key in stub.state:
        return stub.state[key]
    kw = stub.state.get("_init_kwargs") or {}
    if key in kw:
        return kw[key]
    raise KeyError(key)


def _nv_generator(stub: PersistentStub) -> Generator:
    if stub.class_name != "Generator":
        raise ValueError(f"expected NVIDIA's Generator, got {stub.class_name}")
    if int(stub.state.get("c_dim", 0) or 0) != 0:
        raise ValueError("conditional generators (c_dim > 0) are not supported")
    kw = dict(stub.state.get("_init_kwargs") or {})
    syn = dict(kw.get("synthesis_kwargs") or {})
    if syn.get("architecture", "skip") != "skip":
        raise ValueError(f"only the skip generator is supported, got architecture={syn['architecture']!r}")
    nv = stub_state(stub)
    _check_fir(nv)
    size = int(_field(stub, "img_resolution"))
    n_mlp = len([k for k in nv if re.fullmatch(r"mapping\.fc\d+\.weight", k)])
    ch = {r: nv[f"synthesis.b{r}.conv1.weight"].shape[0] for r in (2 ** i for i in range(2, int(math.log2(size)) + 1))}
    base, cmax = _channel_rule(ch)
    fc0 = stub.mapping.fc0
    lr_mul = float(fc0.state.get("bias_gain", 0.01))
    clamp = stub.synthesis.state["_modules"]["b4"].conv1.state.get("conv_clamp")
    G = Generator(size, int(_field(stub, "z_dim")), int(_field(stub, "w_dim")), n_mlp, lr_mul, base, cmax,
                  None if clamp is None else float(clamp))
    _load_into(G, _nv_to_ours_g(nv, size, n_mlp), "G (NVIDIA pickle)")
    return G


def _nv_discriminator(stub: PersistentStub) -> Discriminator:
    kw = dict(stub.state.get("_init_kwargs") or {})
    if kw.get("architecture", "resnet") != "resnet" or int(stub.state.get("c_dim", 0) or 0):
        raise ValueError("only the unconditional residual discriminator is supported")
    nv = stub_state(stub)
    size = int(_field(stub, "img_resolution"))
    ch = {r: nv[f"b{r}.conv0.weight"].shape[0] for r in (2 ** i for i in range(int(math.log2(size)), 2, -1))}
    ch[4] = nv["b4.conv.weight"].shape[0]
    base, cmax = _channel_rule(ch)
    group = stub.b4.mbstd.state.get("group_size", 4) if "mbstd" in stub.b4.state["_modules"] else 4
    clamp = stub.b4.conv.state.get("conv_clamp")
    D = Discriminator(size, base, cmax, int(group or 4), None if clamp is None else float(clamp))
    _load_into(D, _nv_to_ours_d(nv, size), "D (NVIDIA pickle)")
    return D


def load_nvidia_pkl(file, discriminator: bool = False) -> tuple[Generator, Discriminator | None, dict]:
    """NVIDIA stylegan2-ada-pytorch ``.pkl`` -> (G_ema, D or None, info) without executing its code.

    ``info``: the pickle's top-level keys, the size, and ``training_set_kwargs`` if present. A file
    whose networks lack a field (``img_resolution``, a child module, a tensor) raises
    :class:`IncompletePickleError` (a ``ValueError``) naming the file and the field.
    """
    try:
        data = safe_pickle_load(file)
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError, TypeError) as e:
        raise ValueError(f"{file}: not a readable NVIDIA .pkl ({type(e).__name__}: {e})") from None
    if not isinstance(data, dict) or not isinstance(data.get("G_ema"), PersistentStub):
        keys = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise ValueError(f"{file}: expected NVIDIA's dict with a 'G_ema' network, got {keys}")
    try:
        G = _nv_generator(data["G_ema"]).eval()
    except (KeyError, AttributeError) as e:      # a field, child network or tensor the file lacks
        raise IncompletePickleError(file, str(e.args[0]) if e.args else "?", "G_ema") from None
    D = None
    if discriminator and isinstance(data.get("D"), PersistentStub):
        try:
            D = _nv_discriminator(data["D"]).eval()
        except (KeyError, AttributeError) as e:
            raise IncompletePickleError(file, str(e.args[0]) if e.args else "?", "D") from None
    info = {"format": "nvidia-pkl", "keys": sorted(data), "size": G.size,
            "training_set_kwargs": dict(data.get("training_set_kwargs") or {})}
    return G, D, info


# ----------------------------------------------------------------------------- rosinality
def _ro_to_ours_g(ro: Mapping[str, torch.Tensor], size: int, n_mlp: int) -> dict:
    out = {}
    for i in range(n_mlp):
        for p in ("weight", "bias"):
            out[f"mapping.fcs.{i}.{p}"] = ro[f"style.{i + 1}.{p}"]
    out["blocks.0.const"] = ro["input.input"][0]

    def conv(src, dst):
        out[dst + ".conv.weight"] = ro[src + ".conv.weight"][0]
        out[dst + ".conv.affine.weight"] = ro[src + ".conv.modulation.weight"]
        out[dst + ".conv.affine.bias"] = ro[src + ".conv.modulation.bias"]
        out[dst + ".noise_strength"] = ro[src + ".noise.weight"].reshape(())
        out[dst + ".bias"] = ro[src + ".activate.bias"]

    def rgb(src, dst):
        out[dst + ".conv.weight"] = ro[src + ".conv.weight"][0]
        out[dst + ".conv.affine.weight"] = ro[src + ".conv.modulation.weight"]
        out[dst + ".conv.affine.bias"] = ro[src + ".conv.modulation.bias"]
        out[dst + ".bias"] = ro[src + ".bias"].reshape(3)

    conv("conv1", "blocks.0.conv1")
    rgb("to_rgb1", "blocks.0.torgb")
    n_blocks = int(math.log2(size)) - 1
    for j in range(1, n_blocks):
        conv(f"convs.{2 * j - 2}", f"blocks.{j}.conv0")
        conv(f"convs.{2 * j - 1}", f"blocks.{j}.conv1")
        rgb(f"to_rgbs.{j - 1}", f"blocks.{j}.torgb")
    names = ["blocks.0.conv1"] + [f"blocks.{j}.{c}" for j in range(1, n_blocks) for c in ("conv0", "conv1")]
    for i, name in enumerate(names):
        key = f"noises.noise_{i}"
        if key in ro:
            out[name + ".noise_const"] = ro[key]
    return out


def _ro_to_ours_d(ro: Mapping[str, torch.Tensor], size: int) -> dict:
    out = {"fromrgb.conv.weight": ro["convs.0.0.weight"], "fromrgb.bias": ro["convs.0.1.bias"]}
    for k in range(int(math.log2(size)) - 2):
        p = f"convs.{k + 1}."
        out.update({f"blocks.{k}.conv0.conv.weight": ro[p + "conv1.0.weight"], f"blocks.{k}.conv0.bias": ro[p + "conv1.1.bias"],
                    f"blocks.{k}.conv1.conv.weight": ro[p + "conv2.1.weight"], f"blocks.{k}.conv1.bias": ro[p + "conv2.2.bias"],
                    f"blocks.{k}.skip.conv.weight": ro[p + "skip.1.weight"]})
    out.update({"epilogue.conv.conv.weight": ro["final_conv.0.weight"], "epilogue.conv.bias": ro["final_conv.1.bias"],
                "epilogue.fc.weight": ro["final_linear.0.weight"], "epilogue.fc.bias": ro["final_linear.0.bias"],
                "epilogue.out.weight": ro["final_linear.1.weight"], "epilogue.out.bias": ro["final_linear.1.bias"]})
    return out


def _ro_generator(ro: Mapping[str, torch.Tensor], latent_avg, lr_mul: float) -> Generator:
    n_rgb = len({k.split(".")[1] for k in ro if k.startswith("to_rgbs.")})
    size = 2 ** (n_rgb + 2)
    n_mlp = len([k for k in ro if re.fullmatch(r"style\.\d+\.weight", k)])
    w_dim, z_dim = ro["style.1.weight"].shape[0], ro["style.1.weight"].shape[1]
    ch = {4: ro["conv1.conv.weight"].shape[1]}
    for j in range(1, n_rgb + 1):
        ch[4 * 2 ** j] = ro[f"convs.{2 * j - 1}.conv.weight"].shape[1]
    base, cmax = _channel_rule(ch)
    G = Generator(size, int(z_dim), int(w_dim), n_mlp, lr_mul, base, cmax)
    sd = _ro_to_ours_g(ro, size, n_mlp)
    for name, value in G.state_dict().items():          # noise maps the file does not hold stay ours
        if name.endswith("noise_const"):
            sd.setdefault(name, value)
    sd["w_avg"] = torch.zeros(int(w_dim))
    _load_into(G, sd, "G (rosinality .pt)")
    if latent_avg is not None:
        G.w_avg.copy_(torch.as_tensor(latent_avg).float().reshape(-1))
    else:                                                 # rosinality's mean_latent(4096)
        G.w_avg.copy_(G.mean_w(4096, seed=0)[0])
    return G


def _ro_discriminator(ro: Mapping[str, torch.Tensor]) -> Discriminator:
    n_blocks = len({k.split(".")[1] for k in ro if re.match(r"convs\.\d+\.conv1\.", k)})
    size = 2 ** (n_blocks + 2)
    ch = {2 ** (int(math.log2(size)) - k): ro[f"convs.{k + 1}.conv1.0.weight"].shape[0] for k in range(n_blocks)}
    ch[4] = ro["final_conv.0.weight"].shape[0]
    base, cmax = _channel_rule(ch)
    D = Discriminator(size, base, cmax)
    _load_into(D, _ro_to_ours_d(ro, size), "D (rosinality .pt)")
    return D


def load_rosinality_pt(path, discriminator: bool = False) -> tuple[Generator, Discriminator | None, dict]:
    """rosinality ``.pt`` -> (G from ``g_ema``, D or None, info) with ``torch.load(weights_only=True)``."""
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        m = re.search(r"(?:Unsupported global: GLOBAL|unsupported GLOBAL) (\S+)", str(e))
        what = f"it names {m.group(1)}" if m else "it holds objects other than tensors and plain data"
        raise UnsafePickleError(f"{path}: torch.load(weights_only=True) refused to load it: {what}, which is "
                                "not plain data (tensors, dicts, numbers) and could run code") from None
    if not isinstance(ckpt, dict) or "g_ema" not in ckpt:
        raise ValueError(f"{path}: expected rosinality's dict with 'g_ema', got "
                         f"{sorted(ckpt) if isinstance(ckpt, dict) else type(ckpt).__name__}")
    args = ckpt.get("args")
    lr_mul = float(getattr(args, "lr_mlp", 0.01)) if args is not None else 0.01
    G = _ro_generator(ckpt["g_ema"], ckpt.get("latent_avg"), lr_mul).eval()
    D = _ro_discriminator(ckpt["d"]).eval() if discriminator and "d" in ckpt else None
    info = {"format": "rosinality-pt", "keys": sorted(ckpt), "size": G.size,
            "args": vars(args) if isinstance(args, argparse.Namespace) else None}
    return G, D, info


def load_official(path, discriminator: bool = False) -> tuple[Generator, Discriminator | None, dict]:
    """Load ``path`` by its format: ``.pkl`` NVIDIA, ``.pt``/``.pth`` rosinality (nothing is executed)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist (see helpers.stylegan2.official.download)")
    if path.suffix == ".pkl":
        return load_nvidia_pkl(path, discriminator)
    if path.suffix in (".pt", ".pth"):
        return load_rosinality_pt(path, discriminator)
    raise ValueError(f"{path}: expected a .pkl (NVIDIA) or .pt (rosinality) file")


# ----------------------------------------------------------------------------- the other direction
def to_rosinality(G: Generator, D: Discriminator | None = None) -> dict:
    """Our G (and D) in rosinality's layout: ``{"g_ema": state dict, "latent_avg": w_avg[, "d": ...]}``."""
    sd = G.state_dict()
    n = len(G.blocks)
    ro = {f"style.{i + 1}.{p}": sd[f"mapping.fcs.{i}.{p}"] for i in range(len(G.mapping.fcs)) for p in ("weight", "bias")}
    ro["input.input"] = sd["blocks.0.const"][None]

    def conv(dst, src):
        ro[dst + ".conv.weight"] = sd[src + ".conv.weight"][None]
        ro[dst + ".conv.modulation.weight"] = sd[src + ".conv.affine.weight"]
        ro[dst + ".conv.modulation.bias"] = sd[src + ".conv.affine.bias"]
        ro[dst + ".noise.weight"] = sd[src + ".noise_strength"].reshape(1)
        ro[dst + ".activate.bias"] = sd[src + ".bias"]

    def rgb(dst, src):
        ro[dst + ".conv.weight"] = sd[src + ".conv.weight"][None]
        ro[dst + ".conv.modulation.weight"] = sd[src + ".conv.affine.weight"]
        ro[dst + ".conv.modulation.bias"] = sd[src + ".conv.affine.bias"]
        ro[dst + ".bias"] = sd[src + ".bias"].reshape(1, 3, 1, 1)

    conv("conv1", "blocks.0.conv1")
    rgb("to_rgb1", "blocks.0.torgb")
    for j in range(1, n):
        conv(f"convs.{2 * j - 2}", f"blocks.{j}.conv0")
        conv(f"convs.{2 * j - 1}", f"blocks.{j}.conv1")
        rgb(f"to_rgbs.{j - 1}", f"blocks.{j}.torgb")
    names = ["blocks.0.conv1"] + [f"blocks.{j}.{c}" for j in range(1, n) for c in ("conv0", "conv1")]
    for i, name in enumerate(names):
        ro[f"noises.noise_{i}"] = sd[name + ".noise_const"]
    out = {"g_ema": {k: v.clone() for k, v in ro.items()}, "latent_avg": G.w_avg.clone()}
    if D is not None:
        inv = {v: k for k, v in _ro_names_d(D.size).items()}
        dsd = D.state_dict()
        out["d"] = {inv[k]: v.clone() for k, v in dsd.items()}
    return out


def _ro_names_d(size: int) -> dict:
    """rosinality D name -> our D name."""
    fake = {}
    for k in range(int(math.log2(size)) - 2):
        p = f"convs.{k + 1}."
        fake.update({p + "conv1.0.weight": f"blocks.{k}.conv0.conv.weight", p + "conv1.1.bias": f"blocks.{k}.conv0.bias",
                     p + "conv2.1.weight": f"blocks.{k}.conv1.conv.weight", p + "conv2.2.bias": f"blocks.{k}.conv1.bias",
                     p + "skip.1.weight": f"blocks.{k}.skip.conv.weight"})
    fake.update({"convs.0.0.weight": "fromrgb.conv.weight", "convs.0.1.bias": "fromrgb.bias",
                 "final_conv.0.weight": "epilogue.conv.conv.weight", "final_conv.1.bias": "epilogue.conv.bias",
                 "final_linear.0.weight": "epilogue.fc.weight", "final_linear.0.bias": "epilogue.fc.bias",
                 "final_linear.1.weight": "epilogue.out.weight", "final_linear.1.bias": "epilogue.out.bias"})
    return fake


def write_rosinality_pt(path, G: Generator, D: Discriminator | None = None, args: dict | None = None) -> Path:
    """Write a rosinality-style ``.pt`` (with an ``argparse.Namespace`` ``args`` as its train.py saves)."""
    out = to_rosinality(G, D)
    out["args"] = argparse.Namespace(size=G.size, latent=G.w_dim, n_mlp=len(G.mapping.fcs),
                                     lr_mlp=G.mapping.fcs[0].lr_mul, **(args or {}))
    return atomic_write(path, lambda f: torch.save(out, f))


def to_nvidia_state(G: Generator) -> "OrderedDict[str, torch.Tensor]":
    """Our G's tensors under NVIDIA's names (``mapping.fc0.weight``, ``synthesis.b4.conv1.affine.weight`` ...)."""
    ours = G.state_dict()
    inv = {}
    fake = _nv_names_g(G.size, len(G.mapping.fcs))
    for nv_name, our_name in fake.items():
        t = ours[our_name]
        if nv_name.endswith("noise_const"):
            t = t.reshape(t.shape[-2:])
        inv[nv_name] = t.clone()
    return OrderedDict(inv)


def _nv_names_g(size: int, n_mlp: int) -> dict:
    """NVIDIA G name -> our G name (the inverse of :func:`_nv_to_ours_g`'s renaming)."""
    probe = _KeyProbe()
    mapping = _nv_to_ours_g(probe, size, n_mlp)
    return {str(v): k for k, v in mapping.items()}


class _KeyProbe(dict):
    """A mapping whose values are their own keys (to read a renaming table off a converter)."""

    def __getitem__(self, key):
        return _Name(key)


class _Name(str):
    def reshape(self, *a):
        return self


@contextlib.contextmanager
def _writer_modules():
    """Temporarily provide ``torch_utils.persistence._reconstruct_persistent_obj`` and
    ``dnnlib.util.EasyDict`` (placeholders) so that pickle can name them; removed afterwards."""
    added = []

    def module(name, **attrs):
        if name not in sys.modules:
            mod = types.ModuleType(name)
            mod.__dict__.update(attrs)
            sys.modules[name] = mod
            added.append(name)
        return sys.modules[name]

    def _reconstruct_persistent_obj(meta):          # a placeholder: never called by this module
        raise RuntimeError("placeholder: read this file with helpers.stylegan2.official.load_nvidia_pkl")

    class EasyDict(dict):                            # noqa: D401 - NVIDIA's name, a plain dict here
        pass

    try:
        pers = module("torch_utils.persistence")
        module("torch_utils", persistence=pers)
        if not hasattr(pers, "_reconstruct_persistent_obj"):
            _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
            _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
            pers._reconstruct_persistent_obj = _reconstruct_persistent_obj
        util = module("dnnlib.util")
        module("dnnlib", util=util)
        if not hasattr(util, "EasyDict"):
            EasyDict.__module__, EasyDict.__qualname__ = "dnnlib.util", "EasyDict"
            util.EasyDict = EasyDict
        yield pers._reconstruct_persistent_obj, util.EasyDict
    finally:
        for name in added:
            sys.modules.pop(name, None)


class _Persistent:
    """Pickles as NVIDIA's persistent object (meta dict + the reconstruct hook), without source code."""

    hook = None
    module_src = PLACEHOLDER_SOURCE = "# source code not included (written by helpers.stylegan2.official)\n"

    def __init__(self, class_name: str, state: dict):
        self.class_name, self.state = class_name, state

    def __reduce__(self):
        meta = dict(type="class", version=6, module_src=_Persistent.module_src, class_name=self.class_name,
                    state=self.state)
        return (_Persistent.hook, (meta,))


def _module_tree(flat: Mapping[str, torch.Tensor], class_names: Mapping[str, str], root: str, attrs: Mapping) -> _Persistent:
    """Build nested _Persistent objects from flat names; parameters vs buffers by the ``buffers`` suffixes."""
    children: dict[str, dict] = {}
    params, buffers = OrderedDict(), OrderedDict()
    for name, t in flat.items():
        head, _, rest = name.partition(".")
        if rest:
            children.setdefault(head, {})[rest] = t
        elif name in ("w_avg", "noise_const", "resample_filter"):
            buffers[name] = t
        else:
            params[name] = torch.nn.Parameter(t, requires_grad=False)
    mods = OrderedDict()
    for head, sub in children.items():
        path = f"{root}.{head}" if root else head
        mods[head] = _module_tree(sub, class_names, path, attrs)
    state = {"training": False, "_parameters": params, "_buffers": buffers, "_modules": mods,
             **dict(attrs.get(root, {}))}
    return _Persistent(class_names.get(root, "Module"), state)


def write_nvidia_like_pkl(path, G: Generator, extra: Mapping | None = None, module_src: str | None = None) -> Path:
    """Write ``{"G_ema": ..., "D": None, "training_set_kwargs": ...}`` in NVIDIA's pickle structure
    (persistent objects with meta dicts, ``dnnlib.EasyDict`` init kwargs, numpy-scalar gains), with a
    placeholder instead of source code (``module_src``: the text stored there instead; tests store
    code that must never run). :func:`load_nvidia_pkl` reads it back."""
    flat = to_nvidia_state(G)
    k = torch.tensor([1.0, 3.0, 3.0, 1.0])
    fir = torch.outer(k, k) / 64
    for r in (2 ** i for i in range(2, int(math.log2(G.size)) + 1)):
        flat[f"synthesis.b{r}.resample_filter"] = fir.clone()
    clamp = G.blocks[0].conv1.conv_clamp
    with _writer_modules() as (hook, ed):
        names = {"": "Generator", "mapping": "MappingNetwork", "synthesis": "SynthesisNetwork"}
        attrs = {"": {"z_dim": G.z_dim, "c_dim": 0, "w_dim": G.w_dim, "img_resolution": G.size, "img_channels": 3,
                      "num_ws": G.num_ws, "_init_args": (),
                      "_init_kwargs": ed(z_dim=G.z_dim, c_dim=0, w_dim=G.w_dim, img_resolution=G.size,
                                         img_channels=3, mapping_kwargs=ed(num_layers=len(G.mapping.fcs)),
                                         synthesis_kwargs=ed(architecture="skip", conv_clamp=clamp))}}
        for i, fc in enumerate(G.mapping.fcs):
            attrs[f"mapping.fc{i}"] = {"bias_gain": float(fc.lr_mul), "weight_gain": np.float64(fc.scale),
                                       "activation": "lrelu"}
            names[f"mapping.fc{i}"] = "FullyConnectedLayer"
        for b in G.blocks:
            r = b.resolution
            names[f"synthesis.b{r}"] = "SynthesisBlock"
            for c in ("conv0", "conv1"):
                attrs[f"synthesis.b{r}.{c}"] = {"conv_clamp": clamp, "resolution": r}
                names[f"synthesis.b{r}.{c}"] = "SynthesisLayer"
            names[f"synthesis.b{r}.torgb"] = "ToRGBLayer"
        data = {"G_ema": _module_tree(flat, names, "", attrs), "D": None, "training_set_kwargs": dict(extra or {})}
        _Persistent.hook, _Persistent.module_src = hook, module_src or _Persistent.PLACEHOLDER_SOURCE
        try:
            blob = pickle.dumps(data, protocol=4)
        finally:
            _Persistent.module_src = _Persistent.PLACEHOLDER_SOURCE
    return atomic_write_bytes(path, blob)


# ----------------------------------------------------------------------------- download
def download(name: str = "ffhq1024", directory=None, sha256_expected: str | None = None,
             progress: bool = True) -> Path:
    """Download published weights ``name`` (see :data:`OFFICIAL`) once; return the local path.

    The file is checked against ``sha256_expected`` (or the table's hash); with neither, the hash
    of the first download is pinned in ``<file>.sha256`` and every later call checks it. Raises
    ``RuntimeError`` with the URL when the download fails (no internet: copy the file there yourself).
    """
    if name not in OFFICIAL:
        raise ValueError(f"unknown weights {name!r}; known: {sorted(OFFICIAL)}")
    entry = OFFICIAL[name]
    directory = Path(directory or WEIGHTS_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / entry["url"].rsplit("/", 1)[-1]
    pin = path.with_name(path.name + ".sha256")
    want = sha256_expected or entry["sha256"] or (pin.read_text().strip() if pin.exists() else None)
    if not path.exists():
        try:
            with urllib.request.urlopen(entry["url"], timeout=60) as r:
                total = int(r.headers.get("Content-Length") or 0)

                def write(f):
                    done = 0
                    while True:
                        chunk = r.read(1 << 20)
                        if not chunk:
                            break
                        f.write(chunk)
                        done += len(chunk)
                        if progress and total:
                            print(f"\r{path.name}: {done / 1e6:.0f} / {total / 1e6:.0f} MB", end="", flush=True)
                atomic_write(path, write)
                if progress:
                    print()
        except OSError as e:
            raise RuntimeError(f"could not download {entry['url']} ({type(e).__name__}: {e}); without internet, "
                               f"place the file at {path}") from None
    digest = sha256(path)
    if want is None:
        atomic_write_bytes(pin, (digest + "\n").encode())
        print(f"{path.name}: sha256 {digest} (pinned in {pin.name})")
    elif digest != want:
        raise ValueError(f"{path}: sha256 {digest[:16]}... differs from the expected {want[:16]}... "
                         "(damaged or replaced file: delete it and download again)")
    return path

"""The face-analysis network: what a face shows (landmarks, AUs, expression, smiling, pose, who).

SynthFaces knows the truth of every face it draws, but not of a face a network made. This small
CNN, trained on SynthFaces with their exact labels (``helpers.analysis`` trains, measures and
releases it), reads from any SynthFaces-like image (N, 3, H, W) in [-1, 1], 32..256 px, masked
or not:

==================  ===========  ===========================================================
key                 shape        meaning
==================  ===========  ===========================================================
landmarks           (N, 68, 2)   iBUG points, pixel coordinates of the *input* image (x, y)
aus                 (N, 17)      AU intensities in [0, 3], order ``helpers.faces.data.AUS``
expression_logits   (N, 8)       the 8 expressions of ``EXPRESSION_NAMES`` (the ConvNeXt GANimation thesis' Table 2.2)
smiling_prob        (N,)         P(AU12 >= 1), the SynthFaces definition of ``smiling``
pose                (N, 3)       yaw, pitch, roll in degrees
identity            (N, D)       L2-normalised embedding: same person = small cosine distance
features            (N, F)       pooled last-stage features (the offline FID/KID space)
==================  ===========  ===========================================================

One network serves every notebook as its measuring instrument: :func:`analyse` (readings),
:func:`perceptual_distance` / :func:`perceptual_loss` / :func:`style_loss` (the LPIPS
construction and Gatys' Gram loss on its feature maps, differentiable), :func:`identity_distance`
(this embedding for SynthFaces, dlib's for real photos) and :func:`feature_extractor` (features
and expression probabilities for :mod:`helpers.core.distribution`'s FID/KID/IS; ``"inception"``
gives the usual Inception-v3 numbers where its weights can be downloaded).

Limits. It has seen SynthFaces only: on real photos its readings are not meaningful (use dlib,
``helpers.faces.detect``, and the data scripts' labellers there), and its FID/KID/IS and
perceptual numbers are not comparable with Inception- or VGG-based ones in papers. Its accuracy
on people it never saw, unmasked and masked, at 64 and 128 px, is in the release manifest
(``checkpoints/analysis128.json``) and ``checkpoints/README.md``.

Architecture (shapes for the 128-px internal input; inputs of other sizes are resized first):
a stride-2 stem (64x64) and four stages of two residual blocks each (32, 16, 8, 4 px;
``widths``); the landmark decoder merges the stages top-down (as a feature pyramid) to 68
heatmaps at 32x32 whose soft-argmax (the heatmap's expected position, Sun et al. 2018,
"integral regression") gives sub-pixel coordinates; the other heads read the 4x4 map (global
average + a small flattened projection, so position stays available to pose).
"""
from __future__ import annotations

import functools
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from helpers.core import release as rel
from helpers.core.distribution import Extractor
from helpers.core.images import check_images, to_uint8
from helpers.core.runtime import CHECKPOINT_DIR
from helpers.faces import detect
from helpers.faces.data import AUS, EXPRESSION_NAMES

__all__ = ["AUS", "EXPRESSION_NAMES", "INPUT_RANGE", "DEFAULT_RELEASE", "ResBlock", "LandmarkDecoder",
           "AnalysisNet", "load", "analyse", "perceptual_distance", "perceptual_loss", "style_loss",
           "gram", "identity_distance", "feature_extractor", "analysis_extractor", "inception_extractor",
           "lpips_distance", "WeightsUnavailableError", "check_input"]

#: smallest and largest input side accepted (resized to the network's ``input_size`` inside)
INPUT_RANGE = (32, 256)
DEFAULT_RELEASE = "analysis128"
POSE_UNIT = 10.0   # the pose head predicts degrees / POSE_UNIT (values of order 1)


class WeightsUnavailableError(RuntimeError):
    """Raised when a backbone's published weights (Inception, AlexNet/VGG for LPIPS) cannot be had."""


def check_input(images, name: str = "images") -> torch.Tensor:
    """Raise ValueError unless ``images`` is float (N, 3, H, W) in [-1, 1] with 32 <= H, W <= 256."""
    check_images(images.detach() if torch.is_tensor(images) else images, name, min_size=INPUT_RANGE[0])
    if len(images) == 0:
        raise ValueError(f"{name} is empty: need at least one image (N, 3, H, W)")
    h, w = images.shape[-2:]
    if max(h, w) > INPUT_RANGE[1]:
        raise ValueError(f"{name} must be at most {INPUT_RANGE[1]}x{INPUT_RANGE[1]} pixels "
                         f"(the analysis network reads 32..256 px faces), got {h}x{w}")
    return images


# ----------------------------------------------------------------------------- blocks
class ResBlock(nn.Module):
    """(N, cin, H, W) -> (N, cout, H/stride, W/stride): two 3x3 conv + BN, ReLU, residual shortcut.

    The shortcut is the identity, or a strided 1x1 convolution + BN when the shape changes (He et
    al. 2016's basic block).
    """

    def __init__(self, cin: int, cout: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.short = (nn.Identity() if cin == cout and stride == 1 else
                      nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + self.short(x))


class LandmarkDecoder(nn.Module):
    """Stage maps at 1/4, 1/8, 1/16, 1/32 of the input -> 68 landmark heatmaps at 1/4 -> (N, 68, 2).

    Top-down merge (1x1 lateral projections, nearest 2x upsampling, a 3x3 conv per level), then a
    1x1 conv to 68 heatmap logits. Coordinates are the soft-argmax: the softmax-weighted mean of the
    cell centres, in pixels of the network's input (pixel-centre convention), differentiable.
    """

    def __init__(self, widths: Sequence[int], ch: int = 48, n_points: int = 68):
        super().__init__()
        self.lateral = nn.ModuleList(nn.Conv2d(w, ch, 1) for w in widths)          # fine -> coarse
        self.smooth = nn.ModuleList(nn.Sequential(nn.Conv2d(ch, ch, 3, 1, 1, bias=False),
                                                  nn.BatchNorm2d(ch), nn.ReLU()) for _ in widths[:-1])
        self.head = nn.Conv2d(ch, n_points, 1)

    def forward(self, maps: Sequence[torch.Tensor], stride: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``maps`` fine to coarse; returns (landmarks (N, 68, 2) in input pixels, heatmap logits)."""
        y = self.lateral[-1](maps[-1])
        for i in range(len(maps) - 2, -1, -1):
            y = F.interpolate(y, size=maps[i].shape[-2:], mode="nearest") + self.lateral[i](maps[i])
            y = self.smooth[i](y)
        logits = self.head(y)
        n, k, h, w = logits.shape
        p = logits.float().flatten(2).softmax(-1).view(n, k, h, w)
        xs = (torch.arange(w, device=p.device, dtype=p.dtype) + 0.5) * stride - 0.5
        ys = (torch.arange(h, device=p.device, dtype=p.dtype) + 0.5) * stride - 0.5
        x = (p.sum(2) * xs).sum(-1)
        yy = (p.sum(3) * ys).sum(-1)
        return torch.stack([x, yy], -1), logits


# ----------------------------------------------------------------------------- the network
class AnalysisNet(nn.Module):
    """Images (N, 3, H, W) in [-1, 1], 32..256 px -> dict of readings (see the module docstring).

    ``input_size``: the side every input is resized to (bilinear, antialiased when shrinking);
    ``widths``: channels of the stem and the four stages; ``embed_dim``: identity embedding size.
    ``forward`` is differentiable (losses use it); :func:`analyse` is the batched, no-grad reader.
    ``meta`` holds what the release manifest says about it (e.g. the identity threshold).
    Shown in notebook 00.
    """

    def __init__(self, input_size: int = 128, widths: Sequence[int] = (32, 48, 96, 192, 256),
                 embed_dim: int = 128, decoder_ch: int = 48, hidden: int = 384):
        super().__init__()
        if len(widths) != 5:
            raise ValueError(f"widths must give 5 channel counts (stem + 4 stages), got {widths}")
        if input_size % 32 or not 64 <= input_size <= 256:
            raise ValueError(f"input_size must be a multiple of 32 in [64, 256], got {input_size}")
        self.input_size, self.widths, self.embed_dim = int(input_size), tuple(widths), int(embed_dim)
        w = self.widths
        self.stem = nn.Sequential(nn.Conv2d(3, w[0], 3, 2, 1, bias=False), nn.BatchNorm2d(w[0]), nn.ReLU())
        self.stages = nn.ModuleList(nn.Sequential(ResBlock(w[i], w[i + 1], 2), ResBlock(w[i + 1], w[i + 1]))
                                    for i in range(4))
        self.decoder = LandmarkDecoder(w[1:], decoder_ch)
        self.proj = nn.Conv2d(w[4], 32, 1)
        n_in = w[4] + 32 * (input_size // 32) ** 2
        self.trunk = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU())
        self.aus = nn.Linear(hidden, len(AUS))
        self.expression = nn.Linear(hidden, len(EXPRESSION_NAMES))
        self.smiling = nn.Linear(hidden, 1)
        self.pose = nn.Linear(hidden, 3)
        self.embed = nn.Sequential(nn.Linear(n_in, 256), nn.ReLU(), nn.Linear(256, embed_dim))
        self.meta: dict = {}

    @property
    def feature_dim(self) -> int:
        return self.widths[-1]

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """Check ``images`` and resize them to ``input_size`` (differentiable)."""
        check_input(images)
        s = self.input_size
        if tuple(images.shape[-2:]) != (s, s):
            shrink = min(images.shape[-2:]) > s
            images = F.interpolate(images, size=(s, s), mode="bilinear", align_corners=False,
                                   antialias=shrink)
        p = next(self.parameters())
        return images.to(p.device, p.dtype).contiguous(memory_format=torch.channels_last)

    def feature_maps(self, images: torch.Tensor) -> list[torch.Tensor]:
        """The stem's and the four stages' maps (1/2 .. 1/32 of ``input_size``), for the
        perceptual and style losses. Differentiable with respect to ``images``."""
        x = self.stem(self.prepare(images))
        maps = [x]
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        return maps

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        h, w = images.shape[-2:]
        maps = self.feature_maps(images)
        lm, _ = self.decoder(maps[1:], stride=4)
        lm = lm * lm.new_tensor([w / self.input_size, h / self.input_size]) \
            + lm.new_tensor([(w / self.input_size - 1) / 2, (h / self.input_size - 1) / 2])
        top = maps[-1]
        pooled = top.mean((2, 3))
        z = torch.cat([pooled, self.proj(top).flatten(1)], 1)
        t = self.trunk(z)
        smile = self.smiling(t).squeeze(1)
        return {"landmarks": lm, "aus": self.aus(t), "expression_logits": self.expression(t),
                "smiling_logit": smile, "smiling_prob": torch.sigmoid(smile),
                "pose": self.pose(t) * POSE_UNIT, "identity": F.normalize(self.embed(z).float(), dim=1),
                "features": pooled}


# ----------------------------------------------------------------------------- loading, reading
@functools.lru_cache(maxsize=4)
def _cached(name: str, directory: str) -> AnalysisNet:
    manifest = rel.read_manifest(name, directory)
    cfg = manifest["config"]
    net = AnalysisNet(cfg["size"], cfg["widths"], cfg["embed_dim"], cfg["decoder_ch"], cfg["hidden"])
    rel.load_release(name, {"net": net}, directory)
    m = manifest["metrics"]
    net.meta = {"release": name, "identity_threshold": m.get("identity_threshold"),
                "trained_on": manifest.get("data", {}).get("name")}
    net.eval().requires_grad_(False)
    return net


def load(name: str = DEFAULT_RELEASE, directory=None) -> AnalysisNet:
    """The released analysis network (default ``checkpoints/analysis128``): eval mode, CPU, frozen.

    Cached per process, so every caller shares one copy; do not train it in place. The sha256
    of the weights is checked against the manifest (nothing is unpickled).
    """
    return _cached(name, str(directory or CHECKPOINT_DIR))


def _net(net) -> AnalysisNet:
    if net is None:
        return load()
    if not isinstance(net, AnalysisNet):
        raise ValueError(f"net must be an AnalysisNet (or None for the default release), got {type(net).__name__}")
    return net


@torch.no_grad()
def analyse(images: torch.Tensor, net: AnalysisNet | None = None, batch: int = 64) -> dict[str, torch.Tensor]:
    """Read landmarks, AUs, expression, smiling, pose, identity and features from ``images``.

    ``images``: float (N, 3, H, W) in [-1, 1], 32..256 px (any device; results are on the CPU).
    Runs in batches of ``batch`` in eval mode without gradients. AUs are clipped to [0, 3] (the
    SynthFaces range); the other keys are those of :class:`AnalysisNet` (``smiling_logit``
    included). For a differentiable reading call the network itself.
    """
    net = _net(net)
    check_input(images)
    if not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a positive int, got {batch!r}")
    was = net.training
    net.eval()
    try:
        parts = [net(images[i:i + batch]) for i in range(0, len(images), batch)]
    finally:
        net.train(was)
    out = {k: torch.cat([p[k].detach().float().cpu() for p in parts]) for k in parts[0]}
    out["aus"] = out["aus"].clamp(0.0, 3.0)
    return out


# ----------------------------------------------------------------------------- perceptual measures
def _pair(a: torch.Tensor, b: torch.Tensor) -> None:
    check_input(a, "a")
    check_input(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {tuple(a.shape)} vs {tuple(b.shape)}")


def _unit_channels(x: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    return x / (x.pow(2).sum(1, keepdim=True) + eps).sqrt()


def perceptual_distance(a: torch.Tensor, b: torch.Tensor, net: AnalysisNet | None = None,
                        layers: Sequence[int] = (0, 1, 2, 3, 4)) -> torch.Tensor:
    """Per-pair perceptual distance (N,) on the analysis network's feature maps; differentiable.

    The LPIPS construction (Zhang et al. 2018) without its learned channel weights::

        d(a, b) = sum_l  mean_{h,w}  || u_l(a)_{hw} - u_l(b)_{hw} ||^2,   u = unit-normalised channels

    over the stem and the four stages (``layers``). 0 for identical images; larger = more different.
    Its scale differs from VGG/AlexNet LPIPS (see :func:`lpips_distance` for that one).
    """
    net = _net(net)
    _pair(a, b)
    fa, fb = net.feature_maps(a), net.feature_maps(b)
    d = a.new_zeros(len(a), dtype=torch.float32)
    for i in layers:
        diff = _unit_channels(fa[i].float()) - _unit_channels(fb[i].float())
        d = d + diff.pow(2).sum(1).mean((1, 2)).to(d.device)
    return d


def perceptual_loss(a: torch.Tensor, b: torch.Tensor, net: AnalysisNet | None = None,
                    layers: Sequence[int] = (0, 1, 2, 3, 4)) -> torch.Tensor:
    """Mean of :func:`perceptual_distance` over the batch: a differentiable scalar loss."""
    return perceptual_distance(a, b, net, layers).mean()


def gram(x: torch.Tensor) -> torch.Tensor:
    """Gram matrices (N, C, C) of feature maps (N, C, H, W), divided by C*H*W (Gatys et al. 2016)."""
    n, c, h, w = x.shape
    f = x.float().reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (c * h * w)


def style_loss(a: torch.Tensor, b: torch.Tensor, net: AnalysisNet | None = None,
               layers: Sequence[int] = (0, 1, 2, 3)) -> torch.Tensor:
    """Style loss: sum over ``layers`` of the mean squared difference of Gram matrices; a scalar.

    ``L_style = sum_l || G_l(a) - G_l(b) ||^2 / C_l^2`` on the analysis network's maps (the
    style term of 03's inpainting losses, Gatys et al. 2016 / Liu et al. 2018). Differentiable.
    """
    net = _net(net)
    _pair(a, b)
    fa, fb = net.feature_maps(a), net.feature_maps(b)
    loss = a.new_zeros((), dtype=torch.float32)
    for i in layers:
        loss = loss + (gram(fa[i]) - gram(fb[i])).pow(2).mean().to(loss.device)
    return loss


def lpips_distance(a: torch.Tensor, b: torch.Tensor, backbone: str = "alex") -> torch.Tensor:
    """LPIPS (Zhang et al. 2018) with the ``lpips`` package: (N,), differentiable, [-1, 1] inputs.

    Needs ``pip install lpips`` and the torchvision ``backbone`` weights ("alex" or "vgg"), which
    torchvision downloads on first use (Colab: fine; offline: :class:`WeightsUnavailableError`,
    use :func:`perceptual_distance` instead).
    """
    _pair(a, b)
    model = _lpips_model(backbone)
    p = next(model.parameters())
    return model(a.to(p.device), b.to(p.device)).reshape(-1)


@functools.lru_cache(maxsize=2)
def _lpips_model(backbone: str):
    if backbone not in ("alex", "vgg"):
        raise ValueError(f"backbone must be 'alex' or 'vgg', got {backbone!r}")
    try:
        import lpips
    except ImportError as e:
        raise WeightsUnavailableError("LPIPS needs the `lpips` package: pip install lpips "
                                      "(or use helpers.faces.analysis.perceptual_distance offline)") from e
    try:
        model = lpips.LPIPS(net=backbone, verbose=False)
    except Exception as e:  # noqa: BLE001 - a failed download surfaces as many error types
        raise WeightsUnavailableError(
            f"LPIPS could not load the torchvision {backbone} weights (no internet, or no cached copy in "
            f"{torch.hub.get_dir()}): {type(e).__name__}: {e}. Offline, use "
            "helpers.faces.analysis.perceptual_distance (the same construction on the analysis network)") from e
    return model.eval().requires_grad_(False)


# ----------------------------------------------------------------------------- identity
def _dlib_embeddings(images: torch.Tensor, landmarks=None) -> np.ndarray:
    u8 = to_uint8(images)
    out = []
    for i, img in enumerate(u8):
        lm = detect.landmarks68(img) if landmarks is None else np.asarray(landmarks[i], np.float32)
        out.append(detect.face_embedding(img, lm))
    return np.stack(out)


def identity_distance(a: torch.Tensor, b: torch.Tensor, backend: str = "analysis",
                      net: AnalysisNet | None = None, landmarks_a=None, landmarks_b=None) -> torch.Tensor:
    """Per-pair identity distance (N,) between faces ``a[i]`` and ``b[i]`` (float, [-1, 1]).

    - ``backend="analysis"`` (SynthFaces and generated SynthFaces-like faces): cosine distance
      ``1 - cos`` of the analysis embeddings, in [0, 2]. The release's equal-error threshold on
      unseen people is ``load().meta["identity_threshold"]`` (below it: the same person).
    - ``backend="dlib"`` (real photos): Euclidean distance of dlib's 128-d ResNet embeddings
      (:func:`helpers.faces.detect.face_embedding`); same person below
      :data:`helpers.faces.detect.SAME_PERSON_DISTANCE` (0.6). Landmarks are found with dlib
      unless given (``landmarks_a``/``landmarks_b``: (N, 68, 2) pixels); needs the ``faces`` extra.

    The two scales differ; compare numbers of one backend only.
    """
    _pair(a, b)
    if backend == "analysis":
        net = _net(net)
        ea, eb = analyse(a, net)["identity"], analyse(b, net)["identity"]
        return 1.0 - (ea * eb).sum(1)
    if backend == "dlib":
        ea, eb = _dlib_embeddings(a, landmarks_a), _dlib_embeddings(b, landmarks_b)
        return torch.from_numpy(np.linalg.norm(ea - eb, axis=1).astype(np.float32))
    raise ValueError(f"backend must be 'analysis' (SynthFaces) or 'dlib' (real photos), got {backend!r}")


# ----------------------------------------------------------------------------- FID / KID / IS features
def analysis_extractor(net: AnalysisNet | None = None, batch: int = 64) -> Extractor:
    """The offline extractor: pooled analysis features (FID/KID) and expression probabilities (IS).

    Its numbers are comparable with each other, not with Inception-based FID/KID/IS in papers.
    """
    net = _net(net)

    def features(images):
        return analyse(images, net, batch)["features"]

    def probabilities(images):
        return analyse(images, net, batch)["expression_logits"].softmax(1)

    name = net.meta.get("release", "AnalysisNet")
    return Extractor(name=f"analysis:{name}", features=features, probabilities=probabilities,
                     note=f"{name} features ({net.feature_dim}-d) and its 8-expression classifier: "
                          "SynthFaces-specific, not comparable with Inception FID/KID/IS")


def inception_extractor(batch: int = 64, device: str | None = None) -> Extractor:
    """Inception-v3 pool features (2048-d, FID/KID) and class probabilities (IS), torch-fidelity's.

    The network and preprocessing of the reference implementations (TF-FID compatible, as used by
    ``torch-fidelity`` and ``torchmetrics``), so numbers can be set beside papers' tables (seed
    003). Needs ``pip install torch-fidelity`` and downloads the weights on first use (Colab:
    fine); offline it raises :class:`WeightsUnavailableError`.
    """
    try:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
    except ImportError as e:
        raise WeightsUnavailableError("Inception FID/KID/IS need the `torch-fidelity` package: "
                                      "pip install torch-fidelity (then internet once for its weights)") from e
    try:
        model = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"])
    except Exception as e:  # noqa: BLE001 - urllib/http errors of the download
        raise WeightsUnavailableError(
            f"could not get the Inception-v3 weights (no internet and no cached copy in {torch.hub.get_dir()}): "
            f"{type(e).__name__}: {e}. Offline, use feature_extractor('analysis')") from e
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model = model.to(dev).eval()

    @torch.no_grad()
    def run(images):
        check_images(images)
        outs = []
        for i in range(0, len(images), batch):
            u8 = to_uint8(images[i:i + batch])                      # NHWC uint8, what Inception expects
            outs.append([t.cpu() for t in model(torch.from_numpy(u8).permute(0, 3, 1, 2).to(dev))])
        return torch.cat([o[0] for o in outs]), torch.cat([o[1] for o in outs])

    return Extractor(name="inception-v3-compat", features=lambda x: run(x)[0],
                     probabilities=lambda x: run(x)[1].softmax(1),
                     note="Inception-v3 (torch-fidelity): comparable with published FID/KID/IS")


def feature_extractor(kind: str = "analysis", net: AnalysisNet | None = None, batch: int = 64) -> Extractor:
    """The extractor for :mod:`helpers.core.distribution`: ``"analysis"`` (offline default) or
    ``"inception"`` (needs torch-fidelity and its downloaded weights)."""
    if kind == "analysis":
        return analysis_extractor(net, batch)
    if kind == "inception":
        return inception_extractor(batch)
    raise ValueError(f"kind must be 'analysis' or 'inception', got {kind!r}")

"""LaFIn's landmark-guided inpainting generator, its PatchGAN discriminator, losses and step.

The generator (YaN9-Y/lafin ``InpaintGenerator``) reads the damaged face (holes white) and the
landmark map (:func:`helpers.lafin.model.landmark_map`) as 4 channels: a 7x7 convolution and two
stride-2 4x4 convolutions (64, 128, 256 channels at width 1), ``res_blocks`` residual blocks
with dilation 2, LaFIn's short+long attention, and a decoder that fuses the encoder's features of
the *known* pixels (skip connections multiplied by 1 - mask) before each upsampling. The
discriminator is a 70x70-style PatchGAN with spectral norm on the image + landmark map, with the
same attention after its second layer; LSGAN on its sigmoid output, as LaFIn (``GAN_LOSS: lsgan``).

Losses (LaFIn's ``src/models.py``, weights of its ``config.yml``)::

    L_G = 1 * L_1  +  0.01 * L_adv  +  0.1 * L_perc  +  250 * L_style  +  0.1 * L_tv

Perceptual and style features: LaFIn uses VGG19 (relu1_1..relu5_1 for L_perc, relu2_2, 3_4, 4_4,
5_2 for L_style) on [0, 1] images. Offline, ``features="analysis"`` takes the five feature maps of
the course's face-analysis network (:func:`helpers.faces.analysis.load`, stem and four stages:
the same five scales; the last four for the style term) with LaFIn's L1 forms unchanged; the
weights were tuned for VGG, so the terms' balance differs (the run logs each term).
``features="vgg19"`` needs torchvision's downloaded ImageNet weights.

Shown in notebook 03. Images in [-1, 1] (the generator ends in tanh, LaFIn's (tanh + 1) / 2).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn
from torch.nn import functional as F

from helpers.core.images import check_images
from helpers.faces import analysis
from helpers.lafin.model import SharedConfig, check_landmarks, damage, damage_masks, landmark_map, make_adam

__all__ = ["InpainterConfig", "INPAINTER_PROFILES", "FEATURES", "UPSAMPLES", "ResnetBlock", "AttentionResBlock", "AutoAttention", "InpaintGenerator", "PatchDiscriminator",
           "FeatureMaps", "feature_maps", "build_inpainter", "hole_l1_loss", "lsgan_d_loss", "lsgan_g_loss",
           "perceptual_loss", "style_loss", "tv_loss", "inpainter_step", "inpaint", "generator_input",
           "make_optimizers"]

FEATURES = ("analysis", "vgg19", "random")
UPSAMPLES = ("deconv", "resize")


# ------------------------------------------------------------------------------------------ config
@dataclass
class InpainterConfig(SharedConfig):
    """The inpainter's fields: LaFIn's generator and PatchGAN discriminator, their losses' weights."""

    width: float = 1.0                 # channel multiplier of G and D (1.0 = LaFIn: 64-128-256)
    res_blocks: int = 7                # dilated residual blocks (LaFIn: 7, dilation 2)
    attention: bool = True             # LaFIn's short+long attention after the residual blocks
    upsample: str = "resize"           # decoder x2 steps: "deconv" (LaFIn, full) | "resize" (nearest + 3x3)
    features: str = "analysis"         # perceptual/style features: "analysis" | "vgg19" | "random" (tests)
    feature_release: str = "analysis128"
    w_l1: float = 1.0                  # LaFIn's weights: L1 1, adversarial 0.01, perceptual 0.1,
    w_adv: float = 0.01                # style 250, total variation 0.1
    w_perceptual: float = 0.1
    w_style: float = 250.0
    w_tv: float = 0.1
    d2g_lr: float = 0.1                # discriminator lr = d2g_lr x lr (LaFIn)

    CHOICES: ClassVar = {**SharedConfig.CHOICES, "features": FEATURES, "upsample": UPSAMPLES}
    POSITIVE: ClassVar = SharedConfig.POSITIVE + ("width",)

    def check(self) -> None:
        super().check()
        if self.res_blocks < 0:
            raise ValueError(f"res_blocks must be >= 0, got {self.res_blocks}")
        for k in ("w_l1", "w_adv", "w_perceptual", "w_style", "w_tv", "d2g_lr"):
            if getattr(self, k) < 0:
                raise ValueError(f"{k} must be >= 0, got {getattr(self, k)}")


#: the inpainter's changes to the dataclass defaults, per profile
INPAINTER_PROFILES: dict[str, dict] = {
    "quick": dict(width=0.125, res_blocks=1, size=64, batch=2, steps=6, n_train=32, lr=1e-4,
                  damage="mixed", betas=(0.0, 0.9), flip=False),
    # 128 px SynthFaces at 3/8 of LaFIn's width with 5 of its 7 residual blocks; bf16 autocast
    # where the CPU has bf16 units (1.6x fp32 on an AMD Zen 4), resize + conv up-sampling
    "demo": dict(width=0.375, res_blocks=5, size=128, batch=4, steps=6000, n_train=6000, lr=2e-4,
                 damage="mixed", betas=(0.0, 0.9), flip=False, precision="auto", eval_every=250, eval_n=64,
                 log_every=20, save_every=200, save_minutes=5.0),
    # LaFIn's config.yml: 256 px, batch 4, lr 1e-4, D/G lr ratio 0.1, Adam betas (0, 0.9), VGG19
    "full": dict(width=1.0, size=256, batch=4, steps=1_300_000, n_train=27_998, lr=1e-4, damage="mixed",
                 betas=(0.0, 0.9), flip=False, features="vgg19", upsample="deconv", precision="mixed", workers=4,
                 eval_every=20_000, eval_n=500, log_every=100, save_every=5000, save_minutes=20.0),
}
InpainterConfig.PROFILES = {k: INPAINTER_PROFILES[k] for k in ("demo", "full")}


def _ch(c: int, width: float) -> int:
    return max(4, int(round(c * width)))


def _sn(module: nn.Module) -> nn.Module:
    return nn.utils.parametrizations.spectral_norm(module)


# ------------------------------------------------------------------------------------------ blocks
class ResnetBlock(nn.Module):
    """(N, C, H, W) -> (N, C, H, W): x + [reflect-pad, 3x3 conv (dilation d), IN, ReLU, 3x3 conv, IN](x)."""

    def __init__(self, dim: int, dilation: int = 2):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(dilation), nn.Conv2d(dim, dim, 3, dilation=dilation),
            nn.InstanceNorm2d(dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class AttentionResBlock(nn.Module):
    """(N, cin, H, W) -> (N, cout, H, W): LeakyReLU, 3x3 conv, LeakyReLU, 3x3 conv (+ 1x1 shortcut), SN."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.body = nn.Sequential(nn.LeakyReLU(0.01), _sn(nn.Conv2d(cin, cout, 3, padding=1)),
                                  nn.LeakyReLU(0.01), _sn(nn.Conv2d(cout, cout, 3, padding=1)))
        self.short = _sn(nn.Conv2d(cin, cout, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.short(x)


class AutoAttention(nn.Module):
    """LaFIn's short+long attention: (N, C, H, W) [, pre (N, C, H, W), mask (N, 1, H, W)] -> (N, C, H, W).

    Self-attention over the H*W positions with queries = keys = a 1x1 projection to C/4:
    ``out = gamma * (x A^T) + x`` (gamma starts at 0). With ``pre`` (the encoder's features) and
    ``mask``, the same attention copies known context into the hole,
    ``flow = alpha * mask * (pre A^T) + (1 - mask) * pre``, and a residual block fuses ``[out, flow]``.
    """

    def __init__(self, channels: int, context: bool = False):
        super().__init__()
        self.query = nn.Conv2d(channels, max(1, channels // 4), 1)
        self.gamma = nn.Parameter(torch.zeros(1))
        self.alpha = nn.Parameter(torch.zeros(1))
        self.fuse = AttentionResBlock(2 * channels, channels) if context else None

    def forward(self, x: torch.Tensor, pre: torch.Tensor | None = None, mask: torch.Tensor | None = None):
        n, c, h, w = x.shape
        q = self.query(x).flatten(2)                                         # (N, C/4, HW)
        attn = torch.softmax(torch.bmm(q.transpose(1, 2), q).float(), -1).to(x.dtype)   # (N, HW, HW)
        v = x.flatten(2)
        out = self.gamma * torch.bmm(v, attn.transpose(1, 2)).view(n, c, h, w) + x
        if self.fuse is not None and pre is not None:
            flow = torch.bmm(pre.flatten(2), attn.transpose(1, 2)).view(n, -1, h, w)
            flow = self.alpha * mask * flow + (1 - mask) * pre
            out = self.fuse(torch.cat([out, flow], 1))
        return out


def _enc(cin, cout, k, stride, pad=0, reflect=0):
    layers = [nn.ReflectionPad2d(reflect)] if reflect else []
    return nn.Sequential(*layers, nn.Conv2d(cin, cout, k, stride, pad), nn.InstanceNorm2d(cout), nn.ReLU(True))



def _dec(cin, cout, upsample: str = "deconv"):
    """x2 decoder block: LaFIn's 4x4 stride-2 transposed conv, or nearest resize + 3x3 conv; IN, ReLU.

    Transposed convolutions with stride 2 overlap unevenly and print a 2-px checkerboard once an
    adversarial gradient reaches them (measured for GLCIC in notebook 02, section 5c); the resize
    form cannot draw that grid. ``full`` keeps LaFIn's deconv, quick and demo use resize.
    """
    if upsample == "deconv":
        up = [nn.ConvTranspose2d(cin, cout, 4, 2, 1)]
    elif upsample == "resize":
        up = [nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3)]
    else:
        raise ValueError(f"upsample must be one of {UPSAMPLES}, got {upsample!r}")
    return nn.Sequential(*up, nn.InstanceNorm2d(cout), nn.ReLU(True))


# ---------------------------------------------------------------------------------------- networks
class InpaintGenerator(nn.Module):
    """(damaged (N, 3, S, S), landmark map (N, 1, S, S), mask (N, 1, S, S)) -> image (N, 3, S, S) in [-1, 1].

    Encoder S -> S/2 -> S/4 (64, 128, 256 x width channels), ``res_blocks`` dilated residual
    blocks and attention at S/4, then two x2 up-samplings (``upsample``: LaFIn's transposed
    convolutions or resize + conv, see :func:`_dec`) whose inputs are fused (1x1 conv) with the
    encoder's maps of the known pixels, and a 7x7 convolution to RGB + tanh.
    """

    def __init__(self, width: float = 1.0, res_blocks: int = 7, attention: bool = True, upsample: str = "deconv"):
        super().__init__()
        c1, c2, c3 = _ch(64, width), _ch(128, width), _ch(256, width)
        self.enc1 = _enc(4, c1, 7, 1, reflect=3)
        self.enc2 = _enc(c1, c2, 4, 2, 1)
        self.enc3 = _enc(c2, c3, 4, 2, 1)
        self.middle = nn.Sequential(*[ResnetBlock(c3, 2) for _ in range(res_blocks)])
        self.attn = AutoAttention(c3, context=True) if attention else None
        self.dec1 = _dec(c3, c2, upsample)
        self.fuse1 = nn.Sequential(nn.Conv2d(2 * c2, 2 * c2, 1), nn.InstanceNorm2d(2 * c2), nn.ReLU(True))
        self.dec2 = _dec(2 * c2, c1, upsample)
        self.fuse2 = nn.Sequential(nn.Conv2d(2 * c1, 2 * c1, 1), nn.InstanceNorm2d(2 * c1), nn.ReLU(True))
        self.out = nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(2 * c1, 3, 7))

    def forward(self, damaged: torch.Tensor, lmap: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n, _, h, w = damaged.shape
        if lmap.shape != (n, 1, h, w) or mask.shape != (n, 1, h, w) or h % 4 or w % 4:
            raise ValueError(f"generator expects damaged (N, 3, H, W) with H, W multiples of 4 and landmark map "
                             f"and mask (N, 1, H, W); got {tuple(damaged.shape)}, {tuple(lmap.shape)}, {tuple(mask.shape)}")
        m_half = F.interpolate(mask, size=(h // 2, w // 2), mode="bilinear", align_corners=True)
        m_quarter = F.interpolate(mask, size=(h // 4, w // 4), mode="bilinear", align_corners=True)
        e1 = self.enc1(torch.cat([damaged, lmap], 1))
        e2 = self.enc2(e1)
        e3 = self.enc3(e2)
        x = self.middle(e3)
        if self.attn is not None:
            x = self.attn(x, e3, m_quarter.to(x.dtype))
        x = self.fuse1(torch.cat([e2 * (1 - m_half.to(e2.dtype)), self.dec1(x)], 1))
        x = self.fuse2(torch.cat([e1 * (1 - mask.to(e1.dtype)), self.dec2(x)], 1))
        return torch.tanh(self.out(x))


class PatchDiscriminator(nn.Module):
    """(image (N, 3, S, S), landmark map (N, 1, S, S)) -> patch scores (N, 1, S/8 - 2, S/8 - 2) in (0, 1).

    Five 4x4 spectral-normalised convolutions (64, 128, 256, 512 x width, then 1; strides 2, 2,
    2, 1, 1; LeakyReLU 0.2), LaFIn's attention after the second, sigmoid (LSGAN on probabilities).
    """

    def __init__(self, width: float = 1.0, attention: bool = True):
        super().__init__()
        c = [_ch(v, width) for v in (64, 128, 256, 512)]
        self.conv1 = nn.Sequential(_sn(nn.Conv2d(4, c[0], 4, 2, 1, bias=False)), nn.LeakyReLU(0.2, True))
        self.conv2 = nn.Sequential(_sn(nn.Conv2d(c[0], c[1], 4, 2, 1, bias=False)), nn.LeakyReLU(0.2, True))
        self.attn = AutoAttention(c[1]) if attention else None
        self.conv3 = nn.Sequential(_sn(nn.Conv2d(c[1], c[2], 4, 2, 1, bias=False)), nn.LeakyReLU(0.2, True))
        self.conv4 = nn.Sequential(_sn(nn.Conv2d(c[2], c[3], 4, 1, 1, bias=False)), nn.LeakyReLU(0.2, True))
        self.conv5 = _sn(nn.Conv2d(c[3], 1, 4, 1, 1, bias=False))

    def forward(self, images: torch.Tensor, lmap: torch.Tensor) -> torch.Tensor:
        if images.ndim != 4 or images.shape[1] != 3 or lmap.shape != (images.shape[0], 1, *images.shape[2:]):
            raise ValueError(f"discriminator expects images (N, 3, H, W) and a landmark map (N, 1, H, W), "
                             f"got {tuple(images.shape)} and {tuple(lmap.shape)}")
        x = self.conv2(self.conv1(torch.cat([images, lmap], 1)))
        if self.attn is not None:
            x = self.attn(x)
        return torch.sigmoid(self.conv5(self.conv4(self.conv3(x))).float())


def build_inpainter(cfg: InpainterConfig) -> tuple[InpaintGenerator, PatchDiscriminator]:
    """Fresh (generator, discriminator) of ``cfg`` (seeded by the caller); LaFIn's N(0, 0.02) init."""
    G = InpaintGenerator(cfg.width, cfg.res_blocks, cfg.attention, cfg.upsample)
    D = PatchDiscriminator(cfg.width, cfg.attention)
    for net in (G, D):
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                p = getattr(m, "parametrizations", None)
                nn.init.normal_(p.weight.original if p is not None else m.weight, 0.0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
    return G, D


# ------------------------------------------------------------------------------- perceptual features
class FeatureMaps(nn.Module):
    """Frozen feature maps for the perceptual and style losses: images in [-1, 1] -> 5 maps, fine to coarse.

    ``kind="analysis"``: the face-analysis network's stem and four stages (1/2 .. 1/32 of its
    128-px input); ``"vgg19"``: torchvision VGG19 relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 (LaFIn's
    perceptual layers) on [0, 1] images as LaFIn feeds them, style on relu2_2, 3_4, 4_4, 5_2;
    ``"random"``: an untrained analysis network (tests only). ``style`` maps: :meth:`style_maps`.
    """

    VGG_CONTENT = (1, 6, 11, 20, 29)
    VGG_STYLE = (8, 17, 26, 31)

    def __init__(self, kind: str = "analysis", release: str = "analysis128"):
        super().__init__()
        self.kind = kind
        if kind == "analysis":
            self.net = analysis.load(release)
        elif kind == "random":
            g = torch.random.get_rng_state()
            torch.manual_seed(0)
            self.net = analysis.AnalysisNet(64, (8, 16, 16, 32, 32), 16, 8, 16).eval()
            torch.random.set_rng_state(g)
        elif kind == "vgg19":
            self.net = _vgg19_features()
        else:
            raise ValueError(f"features must be 'analysis', 'vgg19' or 'random', got {kind!r}")
        self.net.requires_grad_(False)

    def train(self, mode: bool = True):          # always frozen, always in eval mode
        return super().train(False)

    def forward(self, images: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """(content maps, style maps) of ``images``; differentiable with respect to ``images``."""
        if self.kind in ("analysis", "random"):
            maps = self.net.feature_maps(images)
            return maps, maps[1:]
        x = (images + 1) / 2
        content, style, want = [], [], set(self.VGG_CONTENT) | set(self.VGG_STYLE)
        for i, layer in enumerate(self.net):
            x = layer(x)
            if i in self.VGG_CONTENT:
                content.append(x)
            if i in self.VGG_STYLE:
                style.append(x)
            if i >= max(want):
                break
        return content, style


def _vgg19_features() -> nn.Module:
    import torchvision

    try:
        w = torchvision.models.VGG19_Weights.IMAGENET1K_V1
        return torchvision.models.vgg19(weights=w).features.eval()
    except Exception as e:  # noqa: BLE001 - urllib/http errors of the download
        raise analysis.WeightsUnavailableError(
            f"VGG19 ImageNet weights unavailable (no internet and no cached copy in {torch.hub.get_dir()}): "
            f"{type(e).__name__}: {e}. Offline, use features='analysis' (the course's face-analysis network)") from e


def feature_maps(cfg: InpainterConfig) -> FeatureMaps:
    """The frozen feature extractor ``cfg.features`` (see :class:`FeatureMaps`)."""
    return FeatureMaps(cfg.features, cfg.feature_release)


# ------------------------------------------------------------------------------------------ losses
def hole_l1_loss(out: torch.Tensor, target: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """LaFIn's reconstruction loss: the image L1 divided by the hole's share of the image,

    .. math:: L_1 = \\frac{\\lVert I_{out} - I_{gt} \\rVert_1}{3HW N \\cdot \\mathrm{mean}(M)}

    (on the raw output, so known pixels count too; 1/mean(M) keeps small holes from vanishing).
    """
    return (out.float() - target.float()).abs().mean() / masks.float().mean().clamp_min(1e-6)


def lsgan_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """LSGAN discriminator loss on D's probabilities: :math:`\\tfrac12 [ (D(x) - 1)^2 + D(G(z))^2 ]`."""
    return 0.5 * ((real.float() - 1).pow(2).mean() + fake.float().pow(2).mean())


def lsgan_g_loss(fake: torch.Tensor) -> torch.Tensor:
    """LSGAN generator loss: :math:`L_{adv} = (D(G(z)) - 1)^2` averaged over patches."""
    return (fake.float() - 1).pow(2).mean()


def perceptual_loss(fa: list[torch.Tensor], fb: list[torch.Tensor]) -> torch.Tensor:
    """LaFIn's perceptual loss: :math:`L_{perc} = \\sum_l \\lVert \\phi_l(I_{out}) - \\phi_l(I_{gt}) \\rVert_1` (means)."""
    return sum((a.float() - b.float()).abs().mean() for a, b in zip(fa, fb))


def style_loss(fa: list[torch.Tensor], fb: list[torch.Tensor]) -> torch.Tensor:
    """LaFIn's style loss on the holes: :math:`L_{style} = \\sum_l \\lVert G(\\phi_l(I_{out} \\odot M)) - G(\\phi_l(I_{gt} \\odot M)) \\rVert_1`,

    with Gram matrices :math:`G(\\phi) = \\phi \\phi^T / (C H W)` (:func:`helpers.faces.analysis.gram`).
    """
    return sum((analysis.gram(a) - analysis.gram(b)).abs().mean() for a, b in zip(fa, fb))


def tv_loss(x: torch.Tensor) -> torch.Tensor:
    """Total variation of the composite image: mean |vertical| + mean |horizontal| neighbour differences."""
    x = x.float()
    return (x[:, :, 1:] - x[:, :, :-1]).abs().mean() + (x[:, :, :, 1:] - x[:, :, :, :-1]).abs().mean()


# ------------------------------------------------------------------------------------ step, inference
def generator_input(images: torch.Tensor, masks: torch.Tensor, landmarks: torch.Tensor):
    """(damaged image, landmark map) for the generator and discriminator."""
    return damage(images, masks), landmark_map(landmarks, images.shape[-1]).to(images.dtype)


def inpainter_step(s, batch: dict) -> dict:
    """One LaFIn iteration with the *true* landmarks: a discriminator update, then the generator's.

    The generator's adversarial term is computed with the just-updated discriminator (LaFIn builds
    it before the discriminator step; with one D step per G step the difference is one step's lag).
    ``s`` is the loop's :class:`helpers.core.loop.State` (models ``G``, ``D``; ``extra["features"]``).
    """
    cfg, g = s.cfg, s.generators["damage"]
    G, D, feats = s.models["G"], s.models["D"], s.extra["features"]
    images, lm = batch["image"].float(), batch["landmarks"].float()
    masks = damage_masks(lm.cpu(), cfg.size, cfg.damage, g, cfg.margin_jitter).to(s.device)
    images, lm = images.to(s.device), lm.to(s.device)
    x, lmap = generator_input(images, masks, lm)
    with s.autocast():
        out = G(x, lmap, masks)
        d_real, d_fake = D(images, lmap), D(out.detach(), lmap)
    d_loss = lsgan_d_loss(d_real, d_fake)
    s.update("D", d_loss)
    D.requires_grad_(False)
    try:
        with s.autocast():
            adv = lsgan_g_loss(D(out, lmap))
            out32 = out.float()
            composite = out32 * masks + images * (1 - masks)
            fo, _ = feats(out32)
            _, so = feats(out32 * masks)
            with torch.no_grad():
                fg, _ = feats(images)
                _, sg = feats(images * masks)
        parts = {"l1": hole_l1_loss(out, images, masks), "adv": adv, "perceptual": perceptual_loss(fo, fg),
                 "style": style_loss(so, sg), "tv": tv_loss(composite)}
        total = (cfg.w_l1 * parts["l1"] + cfg.w_adv * parts["adv"] + cfg.w_perceptual * parts["perceptual"]
                 + cfg.w_style * parts["style"] + cfg.w_tv * parts["tv"])
        s.update("G", total)
    finally:
        D.requires_grad_(True)
    return {"g_loss": total.detach(), "d_loss": d_loss.detach(), **{k: v.detach() for k, v in parts.items()}}


@torch.no_grad()
def inpaint(G: InpaintGenerator, images: torch.Tensor, masks: torch.Tensor, landmarks: torch.Tensor,
            batch: int = 32) -> torch.Tensor:
    """Complete the holes of ``images`` guided by ``landmarks``: known pixels exact, the generator's inside.

    ``images`` (N, 3, S, S) in [-1, 1] (hole pixels are never read), ``masks`` (N, 1, S, S) 1 = hole,
    ``landmarks`` (N, 68, 2) px: the truth, or a predictor's guess. Eval mode, no gradients.
    """
    check_images(images, "images")
    n = len(images)
    check_landmarks(landmarks, n=n)
    if not torch.is_tensor(masks) or masks.shape != (n, 1, *images.shape[2:]):
        raise ValueError(f"masks must be (N, 1, H, W) = {(n, 1, *images.shape[2:])}, got "
                         f"{tuple(masks.shape) if torch.is_tensor(masks) else type(masks).__name__}")
    was = G.training
    G.eval()
    dev = next(G.parameters()).device
    outs = []
    try:
        for i in range(0, n, batch):
            x, m, lm = images[i:i + batch].to(dev).float(), masks[i:i + batch].to(dev).float(), landmarks[i:i + batch].to(dev)
            d, lmap = generator_input(x, m, lm)
            outs.append(G(d, lmap, m).float().cpu())
    finally:
        G.train(was)
    out = torch.cat(outs) if outs else images.clone()
    return torch.where(masks.cpu().bool(), out, images.cpu().float())


def make_optimizers(cfg: InpainterConfig, G: nn.Module, D: nn.Module) -> dict:
    """LaFIn's Adam pair: G at ``lr``, D at ``d2g_lr * lr``, both with ``betas`` (LaFIn: (0, 0.9))."""
    return {"G": make_adam(G.parameters(), cfg.lr, cfg.betas), "D": make_adam(D.parameters(), cfg.lr * cfg.d2g_lr, cfg.betas)}

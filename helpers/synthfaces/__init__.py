"""SynthFaces: procedural faces with exact ground truth, the course's embedded default data set.

No face data set may be committed and nothing is downloaded in CI, so the course draws its own
faces. Each picture is a parametric person (face shape, jaw, skin tone, eye shape and colour,
brows, nose, lips, hair style and colour, optional glasses and beard) showing 17 Action Units
(the OpenFace AUs of the ConvNeXt GANimation thesis) at a small head pose, lit from one side, in front of a random
background, optionally behind a surgical or cloth face mask. Because the picture is drawn *from*
the 68 iBUG landmarks, every label is exact: landmarks, AU intensities, identity, expression,
smiling, pose, the mask pixels and the same face without the mask.

Pieces (geometry and pixels are separate so landmark tests need no drawing):

- ``helpers.synthfaces.geometry``: identity parameters (``identity_params(id)``, deterministic,
  independent of the data-set seed: person 17 is the same face in every split), the AU model and
  the pose projection -> 68 landmarks + extra contour points (skull, hairline, hair, ears, ...).
- ``helpers.synthfaces.render``: the OpenCV rasteriser (anti-aliased, 1/16 px precision) and
  the face-mask shapes.
- ``helpers.synthfaces.face``: one face: the expression presets (``EXPRESSIONS``,
  ``expression_aus``), ``render`` (a face and its ground truth) and ``au_sweep``.
- ``helpers.synthfaces.sampling``: ``SynthFaces``, the random draw of every sample's parameters.
- ``helpers.synthfaces.dataset``: ``SynthFacesDataset`` (torch), ``bank`` (cached tensors) and
  ``export`` (the on-disk face format).
- ``helpers.synthfaces.figures`` (the gallery), ``bench`` (faces/s), ``exercises`` (notebook 00's
  checkers), ``__main__`` (the command line: ``bench``, ``gallery``, ``export``).
- this module: the docstring and the public names, re-exported.

AU model (face units: the cheekbone half-width is ~1 unit = 0.3 x image size; y grows downwards;
every displacement is per unit of intensity, linear unless said; intensities are clipped to
[0, 3]; 2.0 is the usual maximum, as in the ConvNeXt GANimation thesis):

====  =====================  ===================================================  ====================
AU    name                   landmarks moved (per unit intensity)                 drawn detail
====  =====================  ===================================================  ====================
1     inner brow raiser      brows up 0.075 at the inner ends (21, 22), tapering  central forehead
                             to 0.011 at the outer ends                           lines
2     outer brow raiser      brows up 0.075 at the outer ends (17, 26), tapering  lateral forehead
                             to 0.011 at the inner ends                           lines
4     brow lowerer           brows down 0.045 inner .. 0.018 outer; inner ends    vertical furrow
                             0.03 towards the midline; upper-lid height -5 %      between the brows
5     upper lid raiser       upper-lid height above the eye axis (37, 38, 43,     more sclera shows
                             44) +30 %                                            above the iris
6     cheek raiser           lower-lid height (40, 41, 46, 47) -20 %, upper -5 %, crow's feet, lid
                             outer eye corners up 0.012                           bulge, folds
7     lid tightener          lower-lid height -35 %, upper-lid height -15 %       lower-lid bulge
9     nose wrinkler          nostrils 31-35 up 0.022 (33) .. 0.034 (wings), 6 %   nose wrinkles,
                             wider; bridge 28-30 up <= 0.014; inner brows down    nasolabial folds
                             0.015; mouth up 0.012; lid heights -3 % / -8 %
10    upper lip raiser       upper lip up 0.025 (outer lip 8 % thicker), so the   upper teeth show,
                             lips part; corners up 0.012; nostrils up 0.012;      nasolabial folds
                             mouth up 0.008
12    lip corner puller      corners (48, 54, 60, 64) out 0.055 and up 0.06, the  nasolabial folds,
                             lips follow (x in proportion, y by u^2 towards the   crow's feet
                             corners); upper lip -5 %; lower-lid height -6 %
14    dimpler                corners in 0.04 and up 0.006                         dimples
15    lip corner depressor   corners down 0.05 and in 0.012                       marionette lines
17    chin raiser            chin (6-10) up <= 0.03; lower lip up 0.018 against   chin-lip sulcus
                             the upper; lower lip 8 % thicker; mouth up 0.012
20    lip stretcher          corners out 0.06, down 0.01; lips 6 % thinner        stretch lines
23    lip tightener          red-lip thickness -28 % (51 down, 57 up towards      thin lips
                             the lip line); corners in 0.015
25    lips part              inner upper lip up 0.02, lower lip down 0.035        mouth interior,
                             (outer lips follow, tapering to 0 at the corners)    teeth
26    jaw drop               chin down 0.11 (jaw points by s^2, ears fixed);      open mouth, teeth,
                             lower lip down 0.094; corners down 0.039, in 0.017;  tongue
                             lower face 4 % narrower
45    blink                  lid opening x (1 - min(i / 2, 1)); the lids meet 35  closed lids
                             % of the way up from the lower lid; shut at >= 2
====  =====================  ===================================================  ====================

Joint effects add up (synergy AU6+AU12+AU25 gives a smile with teeth; AU23 thins the lips that
AU25 parts, the "competition" of the ConvNeXt GANimation thesis). The lips never cross, the lids never cross.

Expressions (the ConvNeXt GANimation thesis' Table 2.2) are AU presets scaled by an intensity (``expression_aus``):
natural (none), happiness AU6+12, sadness AU1+4+15, surprise AU1+2+5+26, fear
AU1+2+4+5+7+20+26, anger AU4+5+7+23, disgust AU9+15 (the thesis adds AU16, lower lip depressor,
which is not among the 17 OpenFace AUs and is therefore left out), contempt AU12+14.
``smiling`` is defined as AU12 >= ``SMILE_THRESHOLD`` (1.0), whatever the expression id.

Sampling (``SynthFaces(seed)[index]``, deterministic by (seed, index)): identity uniform in
``range(n_identities)``; expression uniform over the 8 presets with intensity U(0.6, 2.0) plus,
for each AU with probability 0.25, jitter U(0, 0.3) (``expression=None`` instead draws every AU
independently: active with probability 0.3, U(0, 2), expression id -1); yaw U(-r, r), pitch
U(-0.6r, 0.6r), roll U(-0.5r, 0.5r) degrees with r = ``pose_range``; framing scale U(0.92, 1.04)
and shift +-3 % (clamped so all 68 landmarks stay inside the image); gaze, light direction,
ambient light, colour tint, clothes and background (4 styles) random; a face mask with
probability ``mask_prob`` (style uniform, 5-7 colours, cloth masks plain/striped/dotted).

Pixels: shapes are filled with OpenCV anti-aliasing at 1/16 px precision; sizes below 64 px are
drawn at >= 64 px and area-averaged down (landmarks follow the pixel-centre convention, the mask
map marks every pixel the face mask touches, so ``image == unmasked`` wherever ``mask == 0``).

Check against a real detector: dlib's iBUG 68-point predictor finds 30/30 neutral frontal
SynthFaces at 256 px and lands at NME 0.041 (mean error / outer-eye-corner distance) from the
ground truth (eyes 0.021, mouth 0.032, jaw 0.065); it also sees AU25+26 open the mouth and AU12
widen it (tests/test_synthfaces.py).

Speed: ``python -m helpers.synthfaces bench --size 128 --n 500`` (one thread) prints faces per
second of wall clock and of CPU time; about 200-330 faces/CPU-s at 128 px (half of them masked) on
the shared 2-core development machine, more on an idle core.
"""
from helpers.synthfaces.geometry import AU_NAMES, AUS, Identity, check_aus, identity_params, landmarks
from helpers.synthfaces.face import (EXPRESSION_NAMES, EXPRESSIONS, MASK_STYLES, SIZE_RANGE, SMILE_THRESHOLD, au_sweep,
                                     expression_aus, render)
from helpers.synthfaces.sampling import SynthFaces
from helpers.synthfaces.dataset import BANK_KEYS, SynthFacesDataset, bank, export, split_of_identity
from helpers.synthfaces.figures import GALLERY_IDS, gallery, gallery_images
from helpers.synthfaces.bench import bench
from helpers.faces.masks import face_mask_polygon

__all__ = ["AUS", "AU_NAMES", "EXPRESSIONS", "EXPRESSION_NAMES", "SMILE_THRESHOLD", "MASK_STYLES", "SIZE_RANGE",
           "Identity", "identity_params", "landmarks", "check_aus", "expression_aus", "render", "au_sweep",
           "SynthFaces", "SynthFacesDataset", "BANK_KEYS", "bank", "split_of_identity", "export",
           "face_mask_polygon", "GALLERY_IDS", "gallery_images", "gallery", "bench"]

"""Real-photo face detection, 68 landmarks, identity embeddings and FFHQ alignment with dlib.

Everything here runs offline: the models ship in the ``face-recognition-models`` package
(dlib's HOG frontal-face detector is built into dlib; the 68-point shape predictor and the
ResNet identity model are files in that package). Install the optional extra with
``pip install -e .[faces]`` (``dlib-bin``, ``face-recognition-models``, ``setuptools<81``).
dlib is imported lazily, so the rest of ``helpers`` works without it.

Conventions: images are uint8 HxWx3 RGB arrays, landmarks float32 (68, 2) pixel coordinates
x then y (iBUG 68-point indexing, 0-based), boxes ``(x0, y0, x1, y1)`` with x1/y1 exclusive.
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import numpy as np

INSTALL_HINT = ("dlib face models are not installed. Install the optional extra: "
                "`pip install -e .[faces]` (packages dlib-bin, face-recognition-models, setuptools<81).")

#: dlib's recommended threshold on the Euclidean distance of two 128-d embeddings: below it the
#: two faces are "the same person" (99.38% on LFW according to dlib's documentation of
#: dlib_face_recognition_resnet_model_v1). It is a 1:1 verification threshold: searching one face
#: against hundreds (de-duplication) merges different people, children above all (see
#: ``data_scripts.filter_faces`` for measurements).
SAME_PERSON_DISTANCE = 0.6

#: Minimum HOG detector score (the SVM margin returned by ``detector.run``) accepted by default:
#: dlib's own (0). Weak detections are where its false positives live (e.g. the patch on the
#: astronaut's suit in ``skimage.data.astronaut`` scores about 0.1 while the face scores 1.2), so
#: the scraper filter raises it to :data:`FILTER_MIN_SCORE`. Measured on 1,207 300-W face crops
#: (AFW + Helen train): 96.0% of faces found at 0, 89.6% at 0.3, 85.2% at 0.5.
DEFAULT_MIN_SCORE = 0.0
FILTER_MIN_SCORE = 0.5


class NoFaceError(ValueError):
    """Raised when a function needs a face and the detector finds none."""


@dataclass(frozen=True)
class Detection:
    box: tuple[int, int, int, int]   # x0, y0, x1, y1 (x1, y1 exclusive)
    score: float                     # HOG SVM margin; larger = more confident

    @property
    def size(self) -> int:
        """Side of the (square) dlib box in pixels: min of width and height."""
        return int(min(self.box[2] - self.box[0], self.box[3] - self.box[1]))


def _import_dlib():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import dlib  # noqa: F401
            import face_recognition_models  # noqa: F401
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(f"{INSTALL_HINT} ({e})") from e
    return dlib, face_recognition_models


@functools.lru_cache(maxsize=1)
def _models():
    """Load (once) dlib's HOG detector, 68-point predictor and ResNet face recogniser."""
    dlib, frm = _import_dlib()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pose = frm.pose_predictor_model_location()
        rec = frm.face_recognition_model_location()
    return (dlib.get_frontal_face_detector(), dlib.shape_predictor(pose),
            dlib.face_recognition_model_v1(rec))


def require_models() -> None:
    """Load dlib's detector, 68-point predictor and face recogniser now (once; they are cached).

    For commands that process many photos: they call this first, so a missing ``faces`` extra
    fails at once with :data:`INSTALL_HINT` (ImportError) rather than at the first image.
    """
    _models()


def available() -> bool:
    """True when dlib and its model files can be imported."""
    try:
        _import_dlib()
        return True
    except ImportError:
        return False


def check_image(image) -> np.ndarray:
    """Return ``image`` as a C-contiguous uint8 HxWx3 RGB array or raise ValueError."""
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got dtype {arr.dtype}")
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4):
        raise ValueError(f"expected an HxWx3 (or HxW) uint8 RGB image, got shape {arr.shape}")
    if arr.shape[0] < 8 or arr.shape[1] < 8:
        raise ValueError(f"image too small for face detection: {arr.shape}")
    return np.ascontiguousarray(arr[:, :, :3])


def check_landmarks(landmarks) -> np.ndarray:
    """Return ``landmarks`` as float32 (68, 2) or raise ValueError."""
    lm = np.asarray(landmarks, dtype=np.float32)
    if lm.shape != (68, 2):
        raise ValueError(f"expected landmarks of shape (68, 2) (x, y pixels, iBUG order), got {lm.shape}")
    if not np.isfinite(lm).all():
        raise ValueError("landmarks contain NaN or inf")
    return lm


def detect(image, upsample: int = 1, min_score: float = DEFAULT_MIN_SCORE) -> list[Detection]:
    """Faces found by dlib's HOG detector with score >= ``min_score``, most confident first.

    ``upsample`` doubles the image that many times before detecting (dlib's detector finds faces
    down to about 80 px; one upsampling finds ~40 px faces at 4x the cost).
    """
    img = check_image(image)
    if upsample not in (0, 1, 2):
        raise ValueError(f"upsample must be 0, 1 or 2, got {upsample}")
    det, _, _ = _models()
    rects, scores, _ = det.run(img, int(upsample), float(min_score))
    out = []
    h, w = img.shape[:2]
    for r, s in zip(rects, scores):
        box = (int(r.left()), int(r.top()), int(r.right()) + 1, int(r.bottom()) + 1)
        if box[2] <= 0 or box[3] <= 0 or box[0] >= w or box[1] >= h:
            continue
        out.append(Detection(box, float(s)))
    return sorted(out, key=lambda d: -d.score)


def detect_faces(image_uint8, upsample: int = 1, min_score: float = DEFAULT_MIN_SCORE) -> list[tuple[int, int, int, int]]:
    """Boxes ``(x0, y0, x1, y1)`` of the faces in a uint8 RGB image, most confident first."""
    return [d.box for d in detect(image_uint8, upsample, min_score)]


def _rect(box):
    dlib, _ = _import_dlib()
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box must be (x0, y0, x1, y1) with x1 > x0 and y1 > y0, got {box}")
    return dlib.rectangle(x0, y0, x1 - 1, y1 - 1)


def landmarks68(image, box=None, upsample: int = 1, min_score: float = DEFAULT_MIN_SCORE) -> np.ndarray:
    """68 iBUG landmarks (float32 (68, 2), x then y) of the face in ``box``.

    Without a box the most confident detection is used; raises :class:`NoFaceError` if none.
    Accuracy measured on 1,207 300-W faces (AFW + Helen train, boxes from the detector, 96% found):
    NME 3.27% mean / 2.88% median of the outer-eye-corner distance (AFW 4.20%, Helen 2.93%), 1.5%
    of the found faces above 8%. These images belong to the training set of dlib's predictor (iBUG
    300-W), so expect worse on new data.
    """
    img = check_image(image)
    if box is None:
        dets = detect(img, upsample, min_score)
        if not dets:
            raise NoFaceError(f"no face found (dlib HOG, upsample={upsample}, min_score={min_score})")
        box = dets[0].box
    _, sp, _ = _models()
    shape = sp(img, _rect(box))
    return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float32)


def face_embedding(image, landmarks, jitter: int = 0) -> np.ndarray:
    """dlib's 128-d identity embedding (float32) of the face with these 68 ``landmarks``.

    Two faces of the same person are closer than :data:`SAME_PERSON_DISTANCE` (Euclidean).
    """
    dlib, _ = _import_dlib()
    img = check_image(image)
    lm = check_landmarks(landmarks)
    x0, y0 = np.floor(lm.min(0)).astype(int)
    x1, y1 = np.ceil(lm.max(0)).astype(int) + 1
    parts = [dlib.point(int(round(x)), int(round(y))) for x, y in lm]
    shape = dlib.full_object_detection(_rect((x0, y0, x1, y1)), parts)
    _, _, rec = _models()
    return np.asarray(rec.compute_face_descriptor(img, shape, int(jitter)), dtype=np.float32)


# --------------------------------------------------------------------------------------------
# Landmark sanity checks (used to reject HOG false positives and occluded mouths)


def plausible_landmarks(landmarks, box=None) -> tuple[bool, str]:
    """Cheap geometric checks that 68 landmarks describe an upright-ish face.

    A HOG false positive still gets 68 points from the shape predictor (it always answers), but
    the points then tend to be degenerate: eyes below the mouth, a tiny or huge inter-ocular
    distance compared with the box, a jaw narrower than the mouth. Returns ``(ok, reason)``.
    """
    lm = check_landmarks(landmarks)
    eye_r, eye_l = lm[36:42].mean(0), lm[42:48].mean(0)
    mouth = lm[48:60].mean(0)
    iod = float(np.hypot(*(eye_l - eye_r)))
    eye_mid = (eye_r + eye_l) / 2
    e2m = float(np.hypot(*(mouth - eye_mid)))
    jaw_w = float(np.hypot(*(lm[16] - lm[0])))
    mouth_w = float(np.hypot(*(lm[54] - lm[48])))
    if iod < 4:
        return False, "landmarks collapsed (inter-ocular distance < 4 px)"
    # mouth below the eyes in the face's own frame (allow roll up to ~60 degrees)
    up = np.array([-(eye_l - eye_r)[1], (eye_l - eye_r)[0]]) / iod   # points from eyes to mouth
    if float(np.dot(mouth - eye_mid, up)) < 0.5 * e2m:
        return False, "landmarks implausible (mouth not below the eyes)"
    if not 0.5 <= e2m / iod <= 2.0:
        return False, f"landmarks implausible (eye-to-mouth / eye distance = {e2m / iod:.2f})"
    if jaw_w < mouth_w:
        return False, "landmarks implausible (jaw narrower than mouth)"
    if box is not None:
        bw = box[2] - box[0]
        if not 0.15 <= iod / bw <= 0.8:
            return False, f"landmarks implausible (eye distance {iod / bw:.2f} x box width)"
    return True, "ok"


def _polygon_mask(shape_hw, poly) -> np.ndarray:
    import cv2
    m = np.zeros(shape_hw, np.uint8)
    cv2.fillPoly(m, [np.round(poly).astype(np.int32)], 1)
    return m.astype(bool)


def mouth_visible(image, landmarks, margin: float = 0.0, max_redness_drop: float = 6.0,
                  min_texture: float = 1.5) -> tuple[bool, str]:
    """Is the mouth inside the image and not covered (e.g. by a face mask or a hand)?

    Two checks, both heuristics (document their limits when you report results):

    1. Geometry: all 20 mouth landmarks (48..67) lie inside the image (with ``margin`` x image
       size to spare).
    2. Appearance: lips are redder than the skin between the eyes (CIE Lab a* channel), and
       the mouth region is not flat. A surgical or cloth mask over the mouth makes the lip
       region *less* red than that skin by more than ``max_redness_drop`` a* units,
       or nearly uniform (a* std < ``min_texture``). Dark lipstick, strong colour casts,
       grey-scale images (no a* signal: the colour test is skipped) and skin-coloured occluders
       fool it; a beard is not an occlusion for this test. Photos whose skin has little colour
       (chroma < 8) only get the geometric check. On 1,207 unmasked 300-W faces with true
       landmarks 0.9% are flagged, mostly false alarms (lips not redder than the skin, more often
       on darker skin; red glasses frames over the reference patch).
    Returns ``(visible, reason)``.
    """
    import cv2

    img = check_image(image)
    lm = check_landmarks(landmarks)
    h, w = img.shape[:2]
    mouth = lm[48:68]
    mx, my = margin * w, margin * h
    if (mouth[:, 0] < mx).any() or (mouth[:, 0] > w - 1 - mx).any() or \
       (mouth[:, 1] < my).any() or (mouth[:, 1] > h - 1 - my).any():
        return False, "mouth outside the image"
    lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB).astype(np.float32)
    a = lab[:, :, 1]
    if np.abs(img[:, :, 0].astype(int) - img[:, :, 2].astype(int)).max() < 4:
        return True, "ok (grey image: only the geometric check applies)"
    # lip flesh only: outer-lip polygon minus the mouth opening (teeth, tongue, dark interior)
    lips = _polygon_mask((h, w), lm[48:60]) & ~_polygon_mask((h, w), lm[60:68])
    # skin patch: the glabella between the inner brow ends and inner eye corners (21, 22, 42, 27, 39),
    # above the nose bridge, so a face mask pulled up to the nose does not cover it
    skin = _polygon_mask((h, w), lm[[21, 22, 42, 27, 39]])
    if lips.sum() < 10 or skin.sum() < 10:
        return True, "ok (face too small for the occlusion check)"
    chroma = float(np.hypot(np.median(lab[:, :, 1][skin]) - 128, np.median(lab[:, :, 2][skin]) - 128))
    if chroma < 8:   # washed-out, tinted or near-grey photo: redness means nothing here
        return True, "ok (low-colour skin: only the geometric check applies)"
    drop = float(np.median(a[skin]) - np.median(a[lips]))
    tex = float(a[lips].std())
    if drop > max_redness_drop:
        return False, f"mouth occluded (lip region {drop:.1f} a* units less red than the skin between the eyes)"
    if tex < min_texture and drop > 0:
        return False, f"mouth occluded (flat mouth region, a* std {tex:.1f})"
    return True, "ok"


# --------------------------------------------------------------------------------------------
# Geometry: similarity/affine transforms applied to images and landmarks together


def apply_affine(M, points) -> np.ndarray:
    """Apply a 2x3 affine matrix to (N, 2) points (x, y)."""
    M = np.asarray(M, dtype=np.float64)
    if M.shape != (2, 3):
        raise ValueError(f"expected a 2x3 affine matrix, got {M.shape}")
    p = np.asarray(points, dtype=np.float64)
    return (p @ M[:, :2].T + M[:, 2]).astype(np.float32)


def warp(image, M, size, border: str = "reflect", fade: bool = False) -> np.ndarray:
    """Warp ``image`` with the 2x3 affine ``M`` (source -> output pixels) into ``size``x``size``.

    Down-scaling by more than 2x first shrinks the source with area averaging (no aliasing).
    ``border``: "reflect", "replicate" or "constant" (black). ``fade`` blends the reflected
    border towards a blurred copy and the image's median colour with the distance from the
    photo's edge, as the FFHQ recipe does, so mirrored content does not look like real content.
    """
    import cv2

    img = check_image(image)
    M = np.asarray(M, dtype=np.float64).copy()
    scale = float(np.sqrt(abs(np.linalg.det(M[:, :2]))))
    if scale < 0.5:   # pre-shrink by an integer factor with area averaging
        f = int(np.floor(1.0 / scale))
        small = cv2.resize(img, (max(1, img.shape[1] // f), max(1, img.shape[0] // f)),
                           interpolation=cv2.INTER_AREA)
        sx, sy = img.shape[1] / small.shape[1], img.shape[0] / small.shape[0]
        # a small-image pixel index i covers big-image indices around (i + 0.5) * s - 0.5
        M[:, 2] += M[:, 0] * (sx / 2 - 0.5) + M[:, 1] * (sy / 2 - 0.5)
        M[:, 0] *= sx
        M[:, 1] *= sy
        img = small
    modes = {"reflect": cv2.BORDER_REFLECT, "replicate": cv2.BORDER_REPLICATE, "constant": cv2.BORDER_CONSTANT}
    if border not in modes:
        raise ValueError(f"border must be one of {sorted(modes)}, got {border!r}")
    out = cv2.warpAffine(img, M, (int(size), int(size)), flags=cv2.INTER_CUBIC,
                         borderMode=modes[border], borderValue=(0, 0, 0))
    if fade and border != "constant":
        inside = cv2.warpAffine(np.ones(img.shape[:2], np.uint8), M, (int(size), int(size)),
                                flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        if not inside.all():
            dist = cv2.distanceTransform((1 - inside).astype(np.uint8), cv2.DIST_L2, 3)
            pad = max(2.0, 0.1 * size)
            t = np.clip(dist / pad, 0, 1)[:, :, None]
            blur = cv2.GaussianBlur(out, (0, 0), max(1.0, 0.02 * size)).astype(np.float32)
            o = out.astype(np.float32)
            o = o + (blur - o) * np.clip(3 * t, 0, 1)
            med = np.median(img.reshape(-1, 3), axis=0).astype(np.float32)
            o = o + (med - o) * np.clip(t, 0, 1)
            out = np.clip(np.round(o), 0, 255).astype(np.uint8)
    return out


def similarity_from_points(src, dst) -> np.ndarray:
    """2x3 similarity transform (rotation, uniform scale, translation) mapping src -> dst
    (least squares, Umeyama without reflection)."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(f"expected two (N>=2, 2) point arrays of the same shape, got {src.shape}, {dst.shape}")
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    a = (s * d).sum()                                   # sum x*x' + y*y'
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum()   # sum x*y' - y*x'
    n = (s ** 2).sum()
    ca, sb = a / n, b / n
    R = np.array([[ca, -sb], [sb, ca]])
    t = md - R @ ms
    return np.hstack([R, t[:, None]])


# --------------------------------------------------------------------------------------------
# FFHQ alignment


def ffhq_quad(landmarks) -> np.ndarray:
    """The oriented square (4 corners, (4, 2): top-left, bottom-left, bottom-right, top-right)
    that the FFHQ data set recipe (Karras et al. 2019) cuts from a photo, from 68 landmarks.

    Recipe, in words: take the two eye centres (means of points 36-41 and 42-47) and the two
    mouth corners (48 and 54). The square's horizontal axis is the eye-to-eye vector combined
    with the eye-to-mouth vector turned by 90 degrees (so both the eye line and the face's
    vertical axis set the roll). Its half side is the larger of 2x the eye distance and 1.8x the
    eye-to-mouth distance; its centre is the eye midpoint moved 10% of the way to the mouth.
    """
    lm = check_landmarks(landmarks).astype(np.float64)
    eye_r, eye_l = lm[36:42].mean(0), lm[42:48].mean(0)   # image-left eye first (iBUG 36 = right eye)
    eye_avg = (eye_r + eye_l) / 2
    eye_to_eye = eye_l - eye_r
    mouth_avg = (lm[48] + lm[54]) / 2
    eye_to_mouth = mouth_avg - eye_avg
    # axis: eye_to_eye plus eye_to_mouth rotated by -90 degrees ((x, y) -> (y, -x))
    x = eye_to_eye + np.array([eye_to_mouth[1], -eye_to_mouth[0]])
    x /= np.hypot(*x)
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.array([-x[1], x[0]])   # x rotated by +90 degrees: points down the face
    c = eye_avg + eye_to_mouth * 0.1
    return np.stack([c - x - y, c - x + y, c + x + y, c + x - y]).astype(np.float32)


def ffhq_transform(landmarks, size: int = 1024) -> np.ndarray:
    """2x3 similarity mapping source pixel indices to the ``size`` FFHQ-aligned output."""
    if not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"size must be an int >= 8, got {size!r}")
    quad = ffhq_quad(landmarks).astype(np.float64)
    dst = np.array([[0, 0], [0, size], [size, size], [size, 0]], np.float64)
    M = similarity_from_points(quad, dst)   # continuous coords (pixel edges at integers)
    M[:, 2] += M[:, :2] @ np.array([0.5, 0.5]) - 0.5   # -> pixel-centre indices
    return M


def ffhq_align(image, landmarks, size: int = 1024, border: str = "reflect", fade: bool = True):
    """Align a face as FFHQ was aligned; returns ``(aligned uint8 (size, size, 3), M 2x3,
    aligned landmarks (68, 2))`` where ``M`` maps source pixels to aligned pixels.

    The quad of :func:`ffhq_quad` is mapped onto the output square (its top-left corner to
    (0, 0), bottom-left to (0, size)...). Parts of the quad outside the photo are filled by
    reflection blended into blur (``fade``), in the spirit of FFHQ's padding.
    """
    img = check_image(image)
    lm = check_landmarks(landmarks)
    M = ffhq_transform(lm, size)
    aligned = warp(img, M, size, border=border, fade=fade)
    return aligned, M.astype(np.float32), apply_affine(M, lm)


def ffhq_eye_targets(landmarks, size: int = 1024) -> np.ndarray:
    """Where :func:`ffhq_align` puts the two eye centres ((2, 2): image-left eye first)."""
    lm = check_landmarks(landmarks)
    return apply_affine(ffhq_transform(lm, size), np.stack([lm[36:42].mean(0), lm[42:48].mean(0)]))


# --------------------------------------------------------------------------------------------
# Crops used by the data scripts (the GLCIC course study mouth crop, the ConvNeXt GANimation thesis v0/v2 face crops)

#: the GLCIC course study's fixed mouth hole at 256x256: x 56..200, y 128..224
MOUTH_BOX_256 = (56, 128, 200, 224)


def mouth_crop_transform(landmarks, size: int = 256, eye_mouth: float = 80.0, level_eyes: bool = True,
                         fit_margin: float = 8.0) -> np.ndarray:
    """2x3 similarity that puts the mouth at the lower centre of a ``size`` crop (the GLCIC course study).

    The mouth centre (mean of outer-lip points 48-59) goes to the centre of the GLCIC course study's mouth box
    (128, 176 at 256); the eye-midpoint-to-mouth distance becomes ``eye_mouth`` pixels (at 256;
    80 puts the eyes near y = 96); with ``level_eyes`` the eyes are rotated level. If the mouth
    would then not fit inside the box (with ``fit_margin`` px to spare) the scale is reduced
    until it does, so the fixed mouth hole always covers the whole mouth.
    """
    lm = check_landmarks(landmarks).astype(np.float64)
    k = size / 256.0
    bx0, by0, bx1, by1 = (v * k for v in MOUTH_BOX_256)
    target = np.array([(bx0 + bx1) / 2, (by0 + by1) / 2])
    eye_r, eye_l = lm[36:42].mean(0), lm[42:48].mean(0)
    mouth = lm[48:60].mean(0)
    e2m = np.hypot(*(mouth - (eye_r + eye_l) / 2))
    if e2m < 1:
        raise ValueError("degenerate landmarks: eyes and mouth coincide")
    s = eye_mouth * k / e2m
    ang = np.arctan2(*(eye_l - eye_r)[::-1]) if level_eyes else 0.0
    c, sn = np.cos(-ang), np.sin(-ang)
    R = np.array([[c, -sn], [sn, c]])
    rel = (lm[48:68] - mouth) @ R.T                      # mouth points, rotated, unit scale
    half = np.array([(bx1 - bx0) / 2 - fit_margin * k, (by1 - by0) / 2 - fit_margin * k])
    ext = np.abs(rel).max(0)
    s = min(s, *(half / np.maximum(ext, 1e-6)))
    A = s * R
    t = target - A @ mouth
    return np.hstack([A, t[:, None]])


def square_box_transform(box, size: int) -> np.ndarray:
    """2x3 transform mapping the (square or not) box (x0, y0, x1, y1) onto a ``size`` square,
    keeping the aspect ratio: the box is first made square around its centre (longer side)."""
    x0, y0, x1, y1 = (float(v) for v in box)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box must be (x0, y0, x1, y1) with x1 > x0, y1 > y0, got {box}")
    side = max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    s = size / side
    return np.array([[s, 0, size / 2 - s * cx], [0, s, size / 2 - s * cy]], np.float64)


def center_square_box(height: int, width: int, side: int | None = None) -> tuple[int, int, int, int]:
    """Centre square of ``side`` (default min(height, width)): the ConvNeXt GANimation thesis' "v0" crop (178 for CelebA)."""
    side = int(side or min(height, width))
    x0, y0 = (width - side) // 2, (height - side) // 2
    return (x0, y0, x0 + side, y0 + side)


def nme(pred, gt, norm: str = "inter_ocular") -> float:
    """Normalised mean error of 68 landmarks: mean point-to-point distance divided by the
    distance of the outer eye corners (36, 45; 300-W convention) or of the pupils ("inter_pupil")."""
    p, g = check_landmarks(pred), check_landmarks(gt)
    if norm == "inter_ocular":
        d = np.hypot(*(g[45] - g[36]))
    elif norm == "inter_pupil":
        d = np.hypot(*(g[42:48].mean(0) - g[36:42].mean(0)))
    else:
        raise ValueError(f"norm must be 'inter_ocular' or 'inter_pupil', got {norm!r}")
    return float(np.linalg.norm(p - g, axis=1).mean() / d)

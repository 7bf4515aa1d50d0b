"""What notebook 00 shows of the analysis network: its readings of unseen faces, FID/KID as faces degrade."""
from __future__ import annotations

from matplotlib.figure import Figure
import numpy as np
import pandas as pd
import torch

from helpers.core.viz import image_grid
from helpers.faces import landmarks as L
from helpers.faces.analysis import AUS, EXPRESSION_NAMES, AnalysisNet, analyse, load
from helpers.analysis.data import BANK_KEYS, TEST_IDENTITIES, as_images
from helpers.analysis.evaluate import degradation, degrade
from helpers.synthfaces import bank

__all__ = ["demo_figures"]


def demo_figures(net: AnalysisNet | None = None, n_faces: int = 6, n_fid: int = 200, size: int = 128,
                 levels=(0.0, 0.1, 0.2, 0.4), blur=(0.0, 1.0, 2.0, 3.0)) -> dict:
    """What notebook 00's section on the analysis network shows, in one call (~10 s on 2 CPU threads).

    Returns ``readings`` (a figure: faces of unseen people, half masked, with the predicted
    landmarks and the expression / smiling / pose / top AUs it reads, beside the truth), ``table``
    (a DataFrame of those readings vs the truth), ``fid`` (a figure: FID and KID against a clean
    set as noise or blur grows, with example images) and ``fid_table`` (its numbers). The figures
    are made without pyplot, so a notebook shows each once, with ``display``.
    """
    net = net or load()
    faces = bank(n_faces, size, 5, 0, keys=BANK_KEYS, progress=False, identities=list(TEST_IDENTITIES),
                 mask_prob=0.5)
    x = as_images(faces)
    r = analyse(x, net)
    fig = Figure(figsize=(2.3 * n_faces, 3.3))       # no pyplot: shown once, where the notebook says
    axes = fig.subplots(1, n_faces)
    rows = []
    for k, ax in enumerate(np.atleast_1d(axes)):
        L.show_landmarks(faces["image"][k], [faces["landmarks"][k], r["landmarks"][k]], ax=ax,
                         colors=["lime", "red"], labels=["truth", "read"] if k == 0 else None, size=3.0,
                         lines=False)
        e_p, e_t = EXPRESSION_NAMES[int(r["expression_logits"][k].argmax())], EXPRESSION_NAMES[int(faces["expression"][k])]
        top = [AUS[j] for j in r["aus"][k].argsort(descending=True)[:3].tolist() if r["aus"][k, j] > 0.3]
        ax.set_title(f"{e_p} ({'ok' if e_p == e_t else 'true: ' + e_t})\nsmile {float(r['smiling_prob'][k]):.2f}"
                     f"  AUs {','.join(map(str, top)) or '-'}", fontsize=8)
        p, pt = r["pose"][k], faces["pose"][k]
        rows.append({"expression": e_p, "true expression": e_t, "P(smiling)": round(float(r["smiling_prob"][k]), 2),
                     "smiling": bool(faces["smiling"][k]), "yaw": round(float(p[0]), 1), "true yaw": round(float(pt[0]), 1),
                     "AU12": round(float(r["aus"][k, AUS.index(12)]), 2),
                     "true AU12": round(float(faces["aus"][k, AUS.index(12)]), 2),
                     "NME": round(float(((r["landmarks"][k] - faces["landmarks"][k]).norm(dim=-1).mean()
                                         / L.inter_ocular(faces["landmarks"][k]))), 3)})
    fig.suptitle("What the analysis network reads from faces of people it never saw "
                 "(red: its landmarks, green: the truth)",
                 fontsize=9)
    fig.tight_layout()
    deg = degradation(net, n_fid, 64, kid_subset=min(100, n_fid), levels={"noise": levels, "blur": blur})
    tab = pd.DataFrame(deg)
    fig2 = Figure(figsize=(12, 3.2))
    ax2 = fig2.subplots(1, 3)
    for kind, ax in (("noise", ax2[0]), ("blur", ax2[1])):
        t = tab[tab.kind == kind]
        ax.plot(t.level, t.fid, "o-", label="FID (analysis features)")
        ax.set_xlabel("noise sigma" if kind == "noise" else "blur sigma (px)")
        ax.set_ylabel("FID")
        axk = ax.twinx()
        axk.plot(t.level, t.kid, "s--", color="C1", label="KID")
        axk.set_ylabel("KID", color="C1")
        ax.set_title(f"FID and KID vs clean faces as {kind} grows", fontsize=9)
    ex = torch.cat([degrade(x[:1], "noise", lv) for lv in levels] + [degrade(x[:1], "blur", b) for b in blur])
    ax2[2].imshow(image_grid(ex, nrow=len(levels)))
    ax2[2].set_axis_off()
    ax2[2].set_title("top: noise, bottom: blur", fontsize=9)
    fig2.tight_layout()
    return {"readings": fig, "table": pd.DataFrame(rows), "fid": fig2, "fid_table": tab}

"""Speed: faces per second of :meth:`SynthFaces.sample` on one thread (``python -m helpers.synthfaces bench``)."""
from __future__ import annotations

import time

import cv2
import torch

from helpers.synthfaces.sampling import SynthFaces

__all__ = ["bench"]


def bench(size: int = 128, n: int = 500, mask_prob: float = 0.5, seed: int = 0) -> dict:
    """Faces per second of ``SynthFaces.sample`` on ONE thread.

    Returns wall-clock and CPU-time rates, and the best CPU-time rate over batches of 50 faces
    (closest to an idle core when the machine is shared).
    """
    old = cv2.getNumThreads(), torch.get_num_threads()
    cv2.setNumThreads(1)
    torch.set_num_threads(1)
    try:
        faces = SynthFaces(seed=seed, size=size, mask_prob=mask_prob)
        for i in range(10):
            faces.sample(i)  # warm-up (imports, caches)
        w0, c0 = time.perf_counter(), time.process_time()
        batches, b0 = [], c0
        for i in range(n):
            faces.sample(10 + i)
            if (i + 1) % 50 == 0:
                t = time.process_time()
                batches.append(50 / max(t - b0, 1e-9))
                b0 = t
        w, c = time.perf_counter() - w0, time.process_time() - c0
    finally:  # leave the caller's thread settings as they were
        cv2.setNumThreads(old[0])
        torch.set_num_threads(old[1])
    return dict(size=size, n=n, mask_prob=mask_prob, faces_per_s=n / w, faces_per_cpu_s=n / max(c, 1e-9),
                best_batch_faces_per_cpu_s=max(batches, default=n / max(c, 1e-9)))

"""``python -m helpers.synthfaces bench | gallery | export``."""
from __future__ import annotations

import argparse

from helpers.synthfaces.bench import bench
from helpers.synthfaces.dataset import export
from helpers.synthfaces.figures import gallery


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python -m helpers.synthfaces", description="SynthFaces: procedural faces with exact ground truth")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bench", help="faces/second on one thread")
    b.add_argument("--size", type=int, default=128)
    b.add_argument("--n", type=int, default=500)
    b.add_argument("--mask-prob", type=float, default=0.5)
    g = sub.add_parser("gallery", help="write the gallery figure")
    g.add_argument("out", nargs="?", default="notebooks/figures/synthfaces_gallery.png")
    g.add_argument("--size", type=int, default=128)
    e = sub.add_parser("export", help="write faces in the on-disk format")
    e.add_argument("out")
    e.add_argument("--n", type=int, default=1000)
    e.add_argument("--size", type=int, default=128)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--mask-prob", type=float, default=0.0)
    e.add_argument("--expression", default="random", help="'random', 'none' (free AUs) or a preset name")
    args = ap.parse_args(argv)
    if args.cmd == "bench":
        r = bench(args.size, args.n, args.mask_prob)
        print(f"SynthFaces {r['size']}px, mask_prob {r['mask_prob']}, one thread: "
              f"{r['faces_per_s']:.0f} faces/s (wall), {r['faces_per_cpu_s']:.0f} faces/CPU-s, "
              f"best batch of 50: {r['best_batch_faces_per_cpu_s']:.0f} faces/CPU-s")
    elif args.cmd == "gallery":
        print(gallery(args.out, args.size))
    else:
        expr = None if args.expression == "none" else args.expression
        print(export(args.out, args.n, args.seed, args.size, mask_prob=args.mask_prob, expression=expr))


if __name__ == "__main__":
    main()

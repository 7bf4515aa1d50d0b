"""JAFFE (posed expression photos, ``KA.AN1.39.tiff``) -> the on-disk face format."""
from __future__ import annotations

import re
from pathlib import Path, PurePosixPath


from data_scripts.common import Summary
from data_scripts.prepare_labels import natural_key, subject_split
from data_scripts.prepare_sources import PrepareError, SourceTree, is_image_name, report_bad_archives
from data_scripts.prepare_writing import Cropper, Item, output_name, write_items


JAFFE_RE = re.compile(r"^([A-Za-z]{2})\.([A-Za-z]{2})(\d+)\.(\d+)\.")
JAFFE_CODES = {"AN": "anger", "DI": "disgust", "FE": "fear", "HA": "happiness", "NE": "natural",
               "SA": "sadness", "SU": "surprise"}


def prepare_jaffe(src, out, summary: Summary, cropper: Cropper, *, n_test_subjects=2, test_subjects=None,
                  seed=0, fmt="png") -> int:
    """JAFFE: every image named ``<SUBJECT>.<EXPR><TAKE>.<INDEX>.tiff`` anywhere under ``src``."""
    with SourceTree(src) as tree:
        report_bad_archives(tree, summary)
        found = []
        for rel in tree.names():
            if not is_image_name(rel):
                continue
            m = JAFFE_RE.match(PurePosixPath(rel).name)
            if not m or m.group(2).upper() not in JAFFE_CODES:
                summary.skip("file name does not follow JAFFE naming (KA.AN1.39.tiff)", rel)
                continue
            found.append((rel, m))
        if not found:
            raise PrepareError(f"no JAFFE images (names like KA.AN1.39.tiff) under {src}")
        test = subject_split({m.group(1).upper() for _, m in found}, n_test_subjects, seed, test_subjects)
        print(f"jaffe: test subjects {sorted(test)}")

        def items():
            for rel, m in sorted(found, key=lambda t: natural_key(t[0])):
                subj, code = m.group(1).upper(), m.group(2).upper()
                yield Item(file=output_name(subj, f"{subj}.{code}{m.group(3)}.{m.group(4)}", suffix=".png"),
                           load=(lambda r=rel: tree.read_bytes(r)), origin=rel,
                           labels={"subject": subj, "expression": JAFFE_CODES[code], "expression_orig": code,
                                   "split": "test" if subj in test else "train", "source": "jaffe",
                                   "take": int(m.group(3)), "original_index": int(m.group(4))})
        return write_items(items(), Path(out), summary, cropper, fmt=fmt,
                           settings={"dataset": "jaffe", "test_subjects": sorted(test)},
                           desc="jaffe", total=len(found))

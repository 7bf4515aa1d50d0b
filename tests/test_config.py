"""One config base, one CLI, one release format: validation, --set, run-only fields, names, README."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Optional

import pytest
import torch

from helpers.core import cli, release, runtime
from helpers.core.config import Config, parse_set
from helpers.dcgan import METHOD as DCGAN

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Demo(Config):
    holes: str = "random"
    alpha: float = 1e-3
    betas: tuple = (0.5, 0.9)
    fill: Optional[tuple] = None
    CHOICES: ClassVar = {**Config.CHOICES, "holes": ("random", "mouth")}
    PROFILES: ClassVar = {"demo": dict(size=64, steps=1000), "full": dict(size=256, steps=10**6)}


def test_profiles_and_overrides():
    q, d, f = Demo.quick(), Demo.demo(holes="mouth"), Demo.full()
    assert (q.profile, q.size, d.profile, d.size, d.holes, f.size) == ("quick", 32, "demo", 64, "mouth", 256)
    assert Demo() == q                                   # the defaults are the quick profile
    assert runtime.per_profile(1, 2, 3, "demo") == 2 and Demo.for_profile("full").steps == 10**6


@pytest.mark.parametrize("kw,match", [
    (dict(holes="nose"), r"holes must be one of \('random', 'mouth'\)"),
    (dict(size="64"), r"size must be int"),
    (dict(steps=0), r"steps must be positive"),
    (dict(alpha="big"), r"alpha must be float"),
    (dict(precision="fp8"), r"precision must be one of"),
    (dict(threads=0), r"threads must be None or >= 1"),
    (dict(image_size=64), r"unknown Demo field\(s\) \['image_size'\]"),
])
def test_validation_names_the_field(kw, match):
    with pytest.raises(ValueError, match=match):
        Demo.quick(**kw)


def test_types_are_normalised_and_round_trip():
    c = Demo.quick(alpha=1, betas=[0.1, 0.2], fill=[0, 0, 0])
    assert c.alpha == 1.0 and isinstance(c.alpha, float) and c.betas == (0.1, 0.2) and c.fill == (0, 0, 0)
    d = c.to_dict()
    assert d["betas"] == [0.1, 0.2] and Demo.from_dict(json.loads(json.dumps(d))) == c
    with pytest.raises(ValueError, match="unknown"):
        Demo.from_dict({**d, "old_field": 1})
    assert Demo.from_dict({**d, "old_field": 1}, strict=False) == c


def test_run_only_fields_are_not_results():
    r = Demo.quick().result_dict()
    assert "precision" in r and "seed" in r and "holes" in r
    assert not {"device", "threads", "workers", "log_every", "save_every"} & set(r)


def test_set_parsing():
    assert parse_set(["lr=1e-3", "holes=mouth", "betas=[0.5, 0.9]", "flag=true", "name=a=b"]) == \
        {"lr": 1e-3, "holes": "mouth", "betas": [0.5, 0.9], "flag": True, "name": "a=b"}
    assert Demo.quick().with_set(["holes=mouth", "alpha=2"]).holes == "mouth"
    with pytest.raises(ValueError, match="key=value"):
        parse_set(["holes"])
    with pytest.raises(ValueError, match="unknown"):
        Demo.quick().with_set(["nope=1"])


def test_cli_dry_run_and_refusals(capsys):
    assert cli.main(DCGAN, ["train", "--profile", "demo", "--set", "lr_g=1e-3", "--threads", "2", "--dry-run"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["profile"] == "demo" and out["lr_g"] == 1e-3 and out["threads"] == 2 and out["size"] == 64
    with pytest.raises(SystemExit, match="unknown Config field"):
        cli.main(DCGAN, ["train", "--set", "image_size=64", "--dry-run"])
    with pytest.raises(SystemExit, match="loss must be one of"):
        cli.main(DCGAN, ["train", "--set", "loss=hinge", "--dry-run"])


@pytest.mark.parametrize("name", ["../../x", "a/b", ".hidden", "", "x" * 101, "a..b", "na me"])
def test_release_names_are_validated(name, tmp_path):
    with pytest.raises(ValueError, match="release name"):
        release.save_release({"m": torch.nn.Linear(1, 1)}, name, command="c", config={}, train_seconds=0,
                             metrics={}, directory=tmp_path)
    assert not list(tmp_path.iterdir())


def test_release_round_trip_fp16_and_tamper(tmp_path):
    m = torch.nn.Linear(3, 2)
    release.save_release({"m": m}, "r1", command="python -m x", config={"a": 1}, train_seconds=1.5,
                         metrics={"acc": 0.5}, headline=["acc"], dtype=torch.float16, directory=tmp_path,
                         curve=[{"step": 1, "acc": 0.1}])
    fresh = torch.nn.Linear(3, 2)
    man = release.load_release("r1", {"m": fresh}, tmp_path)
    assert man["dtype"] == "float16" and man["curve"] == [{"step": 1, "acc": 0.1}]
    assert fresh.weight.dtype == torch.float32 and torch.allclose(fresh.weight, m.weight, atol=1e-3)
    assert "`r1`" in release.releases_table(tmp_path) and "acc 0.5" in release.releases_table(tmp_path)
    with pytest.raises(ValueError, match="headline"):
        release.save_release({"m": m}, "r2", command="c", config={}, train_seconds=0, metrics={},
                             headline=["acc"], directory=tmp_path)
    w = tmp_path / "r1.safetensors"
    w.write_bytes(w.read_bytes()[:-1] + b"\x01")
    with pytest.raises(ValueError, match="sha256"):
        release.load_release("r1", {"m": fresh}, tmp_path)


def test_checkpoints_readme_is_generated_from_the_manifests(tmp_path):
    """checkpoints/README.md must be what ``python -m helpers.core.release`` writes now."""
    import shutil

    for p in (REPO / "checkpoints").glob("*.json"):
        shutil.copy(p, tmp_path / p.name)
    for p in (REPO / "checkpoints").glob("*.safetensors"):
        (tmp_path / p.name).write_bytes(b"\0" * p.stat().st_size)   # sizes only
    release.write_readme(tmp_path)
    assert (tmp_path / "README.md").read_text() == (REPO / "checkpoints" / "README.md").read_text(), \
        "checkpoints/README.md is stale: run python -m helpers.core.release"
    total = sum(p.stat().st_size for p in (REPO / "checkpoints").glob("*.safetensors"))
    assert total < 100e6, f"checkpoints/ holds {total / 1e6:.0f} MB of weights (limit ~100 MB)"

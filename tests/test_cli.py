"""The shared command line: extra subcommands, bench results merged, progress bars, Release."""
import argparse
import io
import sys
from contextlib import redirect_stdout

import pytest
import torch

from helpers.core import cli, release as rel, runtime


class _Method:
    """A toy method for the command line."""
    name = "toy"


def _cmd(log):
    def arguments(p: argparse.ArgumentParser):
        p.add_argument("--n", type=int, default=1)

    def run(args, command):
        log.append((args.n, command))
        return 0
    return cli.Command("count", "count things", arguments, run)


def test_extra_command_is_listed_and_runs():
    log = []
    buf = io.StringIO()
    with redirect_stdout(buf), pytest.raises(SystemExit):
        cli.main(_Method, ["--help"], module="helpers.toy", commands=[_cmd(log)])
    assert "count" in buf.getvalue() and "train" in buf.getvalue()
    assert cli.main(_Method, ["count", "--n", "3"], module="helpers.toy", commands=[_cmd(log)]) == 0
    assert log == [(3, "python -m helpers.toy count --n 3")]


def test_extra_command_cannot_shadow_a_standard_one():
    bad = cli.Command("train", "again", lambda p: None, lambda a, c: 0)
    with pytest.raises(ValueError, match="defined twice"):
        cli.main(_Method, ["train"], commands=[bad])


def test_bench_results_merge_keeps_what_was_not_re_measured():
    old = {"machine": {"cpu": "old"}, "profiles": {"demo": {"s": 1}, "full": {"s": 2}}, "reference": {"r": 3}}
    new = {"machine": {"cpu": "new"}, "profiles": {"demo": {"s": 5}}}
    out = cli.merge_results(old, new)
    assert out == {"machine": {"cpu": "new"}, "profiles": {"demo": {"s": 5}, "full": {"s": 2}}, "reference": {"r": 3}}
    timing = cli.merge_results({"t": {"sec_best": 1, "share_best": 0.5}}, {"t": {"sec_best": 2}})
    assert timing == {"t": {"sec_best": 2}}          # no share left over from the earlier run


def test_bench_file_says_which_entries_an_earlier_machine_measured():
    old = {"machine": {"cpu": "old"}, "matmul_gflops": {"fp32": 1}, "profiles": {"demo": {"s": 1}, "full": {"s": 2}}}
    new = {"machine": {"cpu": "new"}, "matmul_gflops": {"fp32": 2}, "profiles": {"demo": {"s": 5}}}
    out = cli.merge_bench_file(old, new)
    assert out["earlier_runs"] == [{"machine": {"cpu": "old"}, "entries": ["profiles/full"], "matmul_gflops": {"fp32": 1}}]
    assert out["matmul_gflops"] == {"fp32": 2} and out["profiles"]["full"] == {"s": 2}
    again = cli.merge_bench_file(out, {**new, "profiles": {"demo": {"s": 6}, "full": {"s": 7}}})
    assert again["earlier_runs"] == out["earlier_runs"]          # nothing kept this time: no new entry
    assert "earlier_runs" not in cli.merge_bench_file(old, old)


def test_progress_bars_only_where_asked(monkeypatch):
    monkeypatch.delenv("FACES_PROGRESS", raising=False)
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    monkeypatch.setattr(sys, "stderr", io.StringIO())           # not a terminal
    assert not runtime.progress_wanted()
    assert runtime.bar(range(3)).disable
    monkeypatch.setenv("FACES_PROGRESS", "1")
    assert runtime.progress_wanted() and not runtime.bar(range(3)).disable
    assert runtime.bar(range(3), disable=True).disable
    runtime.set_progress(False)
    assert not runtime.progress_wanted()


def test_release_type_and_fp16_copy():
    net = torch.nn.Linear(3, 2)
    r = rel.Release("x", {"G": net}, None, {"metrics": {"a": 1}})
    assert r.G is net and r.model is net and r.metrics == {"a": 1}
    with pytest.raises(AttributeError, match="no attribute or model 'D'"):
        r.D
    two = rel.Release("y", {"G": net, "D": net})
    with pytest.raises(AttributeError, match="models"):
        two.model
    with torch.no_grad():
        net.weight[0, 0] = 1.0001
    c = rel.fp16_copy(net)
    assert c is not net and not c.training
    assert c.weight[0, 0].item() == torch.tensor(1.0001).half().float().item()


@pytest.mark.parametrize("name", ["../../x", "a/b", ".hidden", "", "x" * 101])
def test_release_names_only(name, tmp_path):
    with pytest.raises(ValueError, match="release name"):
        rel.read_manifest(name, tmp_path)


def test_data_entry(tmp_path):
    assert rel.data_entry("synthfaces", n=3) == {**rel.SYNTHFACES, "n": 3}
    assert "not stated" in rel.data_entry(tmp_path)["licence"]
    (tmp_path / "data.json").write_text('{"name": "x", "licence": "y"}')
    assert rel.data_entry(tmp_path) == {"name": "x", "licence": "y"}

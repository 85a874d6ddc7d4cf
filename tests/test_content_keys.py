"""Caches, run folders and stamps are keyed by content, never by a name or a path alone."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import coordlib
from coordlib.experiments import learners
from coordlib.pipeline import sweep
from coordlib.pipeline.results import ResultStore

FAST = dict(n_envs=2, minibatches=1, rollout_length=8, eval_replications=2, eval_periods=20, eval_warmup=2)


def _shop(path: Path, price: float) -> str:
    spec = coordlib.scenarios.get("tiny").to_dict()
    spec["name"] = "shop"
    spec["products"]["price"] = [price, price]
    path.write_text(yaml.safe_dump(spec))
    return str(path)


def test_a_rewritten_scenario_file_is_a_new_learner_run(tmp_path):
    shop = _shop(tmp_path / "shop.yaml", 10.0)
    cache = tmp_path / "cache"
    first = learners.learner_sweep("probe", [shop], ["mtma"], [0], 1, cache, workers=0,
                                   settings=FAST)
    again = learners.learner_sweep("probe", [shop], ["mtma"], [0], 1, cache, workers=0,
                                   settings=FAST)
    assert again["profit"].tolist() == first["profit"].tolist()       # cached: same content
    _shop(tmp_path / "shop.yaml", 30.0)
    changed = learners.learner_sweep("probe", [shop], ["mtma"], [0], 1, cache, workers=0,
                                     settings=FAST)
    assert changed["job_id"].tolist() != first["job_id"].tolist()
    assert changed["profit"].iloc[0] > first["profit"].iloc[0] + 10   # trained on the new prices
    # each run's folder lies inside the sweep's runs folder, named by content
    dirs = {Path(d) for d in [*first["run_dir"], *changed["run_dir"]]}
    assert len(dirs) == 2
    assert all(d.is_relative_to(cache) and (d / "summary.json").is_file() for d in dirs)
    assert not any(p.name != "shop.yaml" for p in tmp_path.iterdir() if p.is_file())


def test_run_names_never_leave_their_folder():
    assert learners.run_name("tiny", "mtma", 0) == "tiny--mtma--s0"
    assert learners.run_name("tiny L=2", "mtma", 1) == "tiny L=2--mtma--s1"
    for label in ("/abs/shop.yaml", "shop.yaml", "../up", "a/b", "..", ""):
        name = learners.run_name(label, "mtma", 0)
        assert "/" not in name and not name.startswith(".")
        assert (Path("/runs") / name).parent == Path("/runs")
    assert learners.run_name("/a/shop.yaml", "mtma", 0) != learners.run_name("/b/shop.yaml",
                                                                            "mtma", 0)


def test_job_ids_and_stored_results_follow_a_data_file_content(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("a: 1\n")
    before = sweep.job_id("x", {"scenario": str(path), "n": 1}, 0)
    store = ResultStore(tmp_path / "store")
    calls = []
    assert store.cached("k", {"scenario": str(path)}, lambda: calls.append(1) or 1) == 1
    path.write_text("a: 2\n")
    assert sweep.job_id("x", {"scenario": str(path), "n": 1}, 0) != before
    assert store.cached("k", {"scenario": str(path)}, lambda: calls.append(2) or 2) == 2
    assert calls == [1, 2]
    # names and values that are not files count as they are
    assert sweep.job_id("x", {"scenario": "tiny"}, 0) == sweep.job_id("x", {"scenario": "tiny"}, 0)


@pytest.mark.parametrize("only", ["", ",", " , "])
def test_reproduce_only_with_no_id_is_refused(only, capsys):
    from coordlib.pipeline import reproduce
    assert reproduce.cli(["--profile", "smoke", "--only", only]) == 2
    assert "--only: no notebook id" in capsys.readouterr().err

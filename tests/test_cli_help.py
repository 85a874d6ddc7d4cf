"""The command line explains itself: help texts and defaults, --version, the whole firm
registry, scenario descriptions cut at words, the DP's policy saved and shown, a trained run
loaded back as one object, and the training summary held against g*."""
from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import coordlib
from coordlib import scenarios
from coordlib.cli import COMMANDS, main
from coordlib.common.help import plain
from coordlib.exact import dp
from coordlib.learning.config import config_for
from coordlib.learning.runs import TrainedRun, comparison, load_run, reference_profits
from coordlib.learning.training import train
from coordlib.policies import FIRMS

ROOT = Path(__file__).resolve().parent.parent


def run(*args):
    """``python -m coordlib ARGS`` in this process: (returncode, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:          # --help
            code = exc.code or 0
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def test_version_is_the_package_version():
    out = run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"coordlib {coordlib.__version__}"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_help_has_no_raw_markup_and_every_option_a_help(command):
    out = run(command, "--help")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "``" not in text and not re.search(r":(func|class|mod|meth):`", text)
    # every option of the listing has a help text: beside its name, or on the next line
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^  -", line) and not re.search(r"\S {2,}\S", line.strip()):
            assert i + 1 < len(lines) and re.match(r"^ {10,}\S", lines[i + 1]), \
                f"{command}: {line.strip()} has no help"


def test_evaluate_lists_every_firm_of_the_registry_with_defaults():
    text = run("evaluate", "--help").stdout
    flat = " ".join(text.split())
    for firm in FIRMS.values():
        assert f"{firm.name}: {' '.join(firm.description.split())}" in flat
    for default in ("(default: tiny)", "(default: siloed)", "(default: 20)", "(default: 500)",
                    "(default: 100)", "(default: 0)"):
        assert default in flat


def test_scenarios_cuts_descriptions_at_a_word():
    lines = run("scenarios").stdout.splitlines()
    assert len(lines) == len(scenarios.names())
    for name, line in zip(scenarios.names(), lines):
        full = " ".join(scenarios.get(name).description.split())
        shown = re.split(r"R=\d+\s+", line, maxsplit=1)[1]
        if shown.endswith(" ..."):
            kept = shown[:-4]
            assert full.startswith(kept) and full[len(kept)] == " ", (name, shown)
        else:
            assert shown == full
    full = run("scenarios", "--full").stdout
    assert " ".join(scenarios.get("medium").description.split()) in full


def test_dp_saves_and_shows_the_optimal_policy(tmp_path):
    path = tmp_path / "policy.csv"
    out = run("dp", "--scenario", "tiny", "--max-inventory", "4", "--show-policy", "--save",
              str(path))
    assert out.returncode == 0, out.stderr
    solution = dp.solve(scenarios.get("tiny"), max_inventory=4)
    saved = pd.read_csv(path)
    assert len(saved) == solution.n_reduced_states == 25            # (4 + 1)^2 available stocks
    assert np.array_equal(saved[["order_1", "order_2"]].to_numpy(),
                          solution.orders.reshape(-1, 2))
    assert "order of product 1 (rows: available_1, columns: available_2)" in out.stdout
    table = dp.print_policy(solution).split("\n\n")[0].splitlines()[3:]
    first = [int(v) for v in table[0].split()[1:]]
    assert first == solution.orders[0, 0, :, 0].tolist()          # available_1 = 0, by available_2
    help_text = run("dp", "--help").stdout
    assert "tau" in help_text and "reduced states" in help_text and "exact, not an" in help_text


def test_plain_turns_roles_and_literals_into_text():
    assert plain("see :func:`~coordlib.envs.parallel_env` and ``make docs``") == \
        "see parallel_env and make docs"
    assert plain(":mod:`coordlib.pipeline.results`") == "coordlib.pipeline.results"


# ---- a trained run, read back ------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    config = config_for("mtma", iterations=2, n_envs=8, rollout_length=8, minibatches=2,
                        eval_replications=2, eval_periods=40, eval_warmup=10, threads=1)
    return train("tiny", config, out_dir=out, progress=False), out


def test_load_run_gives_the_policy_and_the_summary_as_one_object(trained):
    result, out = trained
    loaded = coordlib.load_run(out)
    assert isinstance(loaded, TrainedRun)
    assert loaded.summary["env_steps"] == result.summary["env_steps"] == 2 * 8 * 8
    assert loaded.profit == pytest.approx(result.summary["profit"])
    assert loaded.scenario == "tiny" and loaded.iteration == 2 and len(loaded.curve) == 2
    tiny = scenarios.get("tiny")
    a = coordlib.evaluate(tiny, loaded.policy, 2, 40, 10, seed=0)
    b = coordlib.evaluate(tiny, result.policy, 2, 40, 10, seed=0)
    pd.testing.assert_frame_equal(a, b)
    assert load_run(out / "checkpoint.pt").iteration == 2


def test_load_run_reads_only_the_summary_of_its_own_checkpoint(trained, tmp_path):
    _, out = trained
    run = tmp_path / "run"
    shutil.copytree(out, run)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["run_id"] and summary["iterations"] == 2
    # a run killed after a checkpoint and before its summary: iteration or run disagree
    for stale in ({**summary, "iterations": 1}, {**summary, "run_id": "another"}):
        (run / "summary.json").write_text(json.dumps(stale))
        with pytest.warns(UserWarning, match="written by another run .* left out"):
            loaded = load_run(run)
        assert loaded.summary == {} and loaded.profit is None and len(loaded.curve) == 2


def test_two_training_runs_never_write_in_one_folder(trained, tmp_path):
    from coordlib.common.files import FolderBusyError
    from coordlib.learning.training import run_lock

    out = tmp_path / "busy"
    config = config_for("mtma", iterations=1, n_envs=2, rollout_length=4, minibatches=1,
                        eval_replications=1, eval_periods=10, eval_warmup=1)
    with run_lock(out):       # as another process holding the folder would
        # the same process may train there (the lock is re-entrant) ...
        train("tiny", config, out_dir=out, progress=False)
    # ... another may not, while the first holds it
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from coordlib.learning.training import run_lock\n"
        "with run_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(600)"),
        str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(FolderBusyError, match="another training run is writing in this "
                                                  "folder .*pid"):
            train("tiny", config, out_dir=out, progress=False)
        assert main(["train", "--scenario", "tiny", "--out", str(out), "--overwrite",
                         "--iterations", "1", "--no-progress"]) == 2
    finally:
        holder.kill()
        holder.wait()


def test_load_run_names_a_missing_checkpoint(tmp_path):
    with pytest.raises(Exception, match="checkpoint"):
        load_run(tmp_path)


def test_reference_profits_read_the_main_table():
    ref = reference_profits("tiny-margin")
    table = pd.read_csv(ROOT / "data" / "tables" / "e3_main_table.csv")
    rows = table[table["scenario"] == "tiny-margin"]
    assert ref["g_star"] == pytest.approx(float(rows[rows["kind"] == "DP"]["profit"].iloc[0]))
    heuristics = rows[rows["kind"] == "heuristic"]
    assert ref["best_heuristic"] == (heuristics.loc[heuristics["profit"].idxmax(), "method"],
                                     pytest.approx(heuristics["profit"].max()))
    assert reference_profits("medium")["g_star"] is None          # no DP on medium
    assert reference_profits("nowhere") == {"g_star": None, "best_heuristic": None}


def test_comparison_line_gives_the_gaps(tmp_path):
    table = tmp_path / "t.csv"
    pd.DataFrame({"scenario": ["x", "x", "x"], "kind": ["heuristic", "heuristic", "DP"],
                  "method": ["a", "b", "DP optimum g*"], "profit": [8.0, 9.0, 10.0]}
                 ).to_csv(table, index=False)
    line = comparison(9.5, "x", table)
    assert "g* 10.000 (this run -5.00%)" in line and "best heuristic b 9.000 (this run +5.56%)" in line
    assert comparison(9.5, "y", table) == ""


def test_train_summary_stands_beside_g_star_and_the_best_heuristic(tmp_path):
    out = run("train", "--scenario", "tiny-margin", "--out", str(tmp_path / "r"), "--iterations",
              "1", "--n-envs", "8", "--rollout-length", "8", "--minibatches", "2",
              "--eval-replications", "2", "--eval-periods", "40", "--eval-warmup", "10",
              "--no-progress")
    assert out.returncode == 0, out.stderr
    ref = reference_profits("tiny-margin")
    assert f"DP optimum g* {ref['g_star']:.3f}" in out.stdout
    assert f"best heuristic {ref['best_heuristic'][0]}" in out.stdout
    assert "deterministic policy" in out.stdout and "sampled training policy" in out.stdout
    assert "meaning, unit and default" in run("train", "--help").stdout


def test_ctrl_c_in_any_command_is_one_line(monkeypatch, capsys):
    from coordlib.model import scenarios as scenarios_module

    def interrupted(argv):
        raise KeyboardInterrupt

    monkeypatch.setattr(scenarios_module, "cli", interrupted)
    assert main(["scenarios"]) == 130
    err = capsys.readouterr().err.strip()
    assert err == "coordlib scenarios: interrupted (Ctrl-C); every file it finished is kept"

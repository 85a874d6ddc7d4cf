"""The command line ``python -m coordlib train`` (MODEL.md section 6): one option per
:class:`TrainConfig` field, generated from the field's declaration, ``--set FIELD=VALUE``
kept for compatibility, and errors in one line naming the field. Parsing only: no training."""
from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from coordlib.learning import training
from coordlib.learning.config import PRESET_DOCS, PRESETS, TrainConfig, config_docs
from coordlib.learning.training import config_from_args, train_parser

RUN = ["--scenario", "tiny", "--out", "unused"]


def _config(*argv) -> TrainConfig:
    return config_from_args(train_parser().parse_args([*RUN, *argv]))


def _flat(text: str) -> str:
    return " ".join(text.split())          # help texts are wrapped to the terminal's width


def test_help_lists_every_field_with_its_meaning_unit_and_default(capsys):
    with pytest.raises(SystemExit) as exit_:
        training.cli(["--help"])
    assert exit_.value.code == 0
    out = _flat(capsys.readouterr().out)
    for f in dataclasses.fields(TrainConfig):
        assert f"--{f.name.replace('_', '-')}" in out, f.name
        assert _flat(config_docs()[f.name]) in out, f.name     # meaning [unit]; default
    assert "--memory, --no-memory" in out and "--lr-fast FLOAT" in out
    assert "--actor {per_department,joint}" in out
    for name in PRESETS:                         # --config lists each preset with its line
        assert _flat(f"{name}: {PRESET_DOCS[name]}") in out, name


def test_generated_options_set_their_fields_and_keep_the_presets_other_values():
    config = _config("--config", "single_timescale", "--lr-fast", "0.01", "--n-envs", "8",
                     "--minibatches", "2", "--no-memory", "--actor", "per_department",
                     "--frozen", "critic", "replenisher", "--seed", "3", "--device", "cpu")
    assert (config.lr_fast, config.n_envs, config.minibatches, config.seed) == (0.01, 8, 2, 3)
    assert config.memory is False and config.frozen == ("critic", "replenisher")
    assert config.name == "single_timescale" and config.timescale_ratio == 1.0  # the preset's
    assert config.gamma == TrainConfig.gamma                                     # the default
    assert _config("--frozen").frozen == ()
    assert _config("--no-eval-deterministic").eval_deterministic is False
    assert _config() == _config("--config", "mtma")


def test_set_field_value_still_works_and_is_applied_after_the_options():
    config = _config("--set", "lr_fast=0.01", "--set=frozen=critic,replenisher",
                     "--set", "memory=false", "--set", "iterations=7")
    assert (config.lr_fast, config.frozen, config.memory, config.iterations) \
        == (0.01, ("critic", "replenisher"), False, 7)
    assert _config("--lr-fast", "0.5", "--set", "lr_fast=0.01").lr_fast == 0.01


@pytest.mark.parametrize("setting,message", [
    ("lr_fsat=0.01", "unknown TrainConfig field 'lr_fsat'; did you mean lr_fast?"),
    ("learning_rate=0.01", "unknown TrainConfig field 'learning_rate'"),
    ("lr_fast=fast", "TrainConfig.lr_fast: expected a number (float), got 'fast'"),
    ("n_envs=4.5", "TrainConfig.n_envs: expected a whole number (int), got '4.5'"),
    ("memory=maybe", "TrainConfig.memory: must be true or false, got 'maybe'"),
    ("gamma=2", "TrainConfig.gamma: must lie in [0, 1), got 2.0"),
    ("lr_fast", "--set 'lr_fast': expected FIELD=VALUE"),
])
def test_bad_set_gives_code_2_and_one_line_naming_the_field(setting, message, capsys):
    assert training.cli([*RUN, "--set", setting, "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


@pytest.mark.parametrize("argv,message", [
    (["--lr-fast", "fast"], "argument --lr-fast: expected a number (float), got 'fast'"),
    (["--iterations", "2.5"], "argument --iterations: expected a whole number (int)"),
    (["--actor", "boss"], "argument --actor: invalid choice: 'boss'"),
    (["--frozen", "marketing"], "argument --frozen: invalid choice: 'marketing'"),
    (["--config", "ppo"], "argument --config: invalid choice: 'ppo'"),
])
def test_bad_option_value_exits_2_with_one_line_naming_the_option(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        training.cli([*RUN, *argv])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_bad_value_from_the_shell_has_no_traceback():
    done = subprocess.run([sys.executable, "-m", "coordlib", "train", *RUN, "--lr-fast", "x"],
                          capture_output=True, text=True, timeout=1200)
    assert done.returncode == 2
    assert "--lr-fast" in done.stderr and "float" in done.stderr
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr


def test_ctrl_c_ends_train_in_one_line_and_keeps_the_checkpoint(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "coordlib", "train", "--scenario", "tiny", "--out", str(out),
         "--iterations", "100000", "--checkpoint-every", "1", "--n-envs", "2",
         "--minibatches", "1", "--no-progress"], stderr=subprocess.PIPE, text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 600                     # a hang guard, not a speed test
        while not (out / "checkpoint.pt").is_file():
            assert proc.poll() is None and time.monotonic() < deadline, "no checkpoint written"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGINT)
        err = proc.communicate(timeout=600)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert re.fullmatch(r"coordlib train: interrupted; its checkpoint at iteration \d+ is kept "
                        r"in .*; --resume continues from there", err.strip()), err

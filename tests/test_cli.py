"""The `finops` command as a user types it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from flows.cli import main


def finops(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


@pytest.mark.parametrize(
    "command", ["demo", "run", "backfill", "validate", "send", "generate"]
)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert "usage: finops" in capsys.readouterr().out


def test_a_bad_configuration_exits_2_and_names_the_key(tmp_path):
    config = tmp_path / "finops.toml"
    config.write_text("[sources]\nbiling = []\n", encoding="utf-8")
    result = finops("validate", "--month", "2026-10", "--config", str(config))
    assert result.returncode == 2
    assert "unknown key 'biling' in [sources]; did you mean 'billing'?" in result.stderr


def test_a_bad_month_exits_2(tmp_path):
    result = finops(
        "validate", "--month", "2026/10", "--config", str(tmp_path / "x.toml")
    )
    assert result.returncode == 2
    assert "YYYY-MM" in result.stderr


def test_a_missing_source_exits_2_naming_it(tmp_path):
    config = tmp_path / "finops.toml"
    config.write_text("[sources]\nbilling = ['nowhere/']\n", encoding="utf-8")
    result = finops("validate", "--month", "2026-10", "--config", str(config))
    assert result.returncode == 2
    assert "nowhere" in result.stderr


def test_send_without_email_settings_says_what_to_add(tmp_path):
    config = tmp_path / "finops.toml"
    config.write_text("[sources]\nbilling = []\n", encoding="utf-8")
    result = finops("send", "--month", "2026-10", "--config", str(config))
    assert result.returncode == 2
    assert "add [email] with host" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_a_month_without_rows_fails_with_a_message_not_a_traceback(tmp_path):
    (tmp_path / "bills").mkdir()
    (tmp_path / "bills" / "focus.csv").write_text(
        "BilledCost,EffectiveCost,BillingCurrency,ChargeCategory,ChargePeriodStart\n"
        "1.00,1.00,USD,Usage,2026-10-02 00:00:00\n",
        encoding="utf-8",
    )
    config = tmp_path / "finops.toml"
    config.write_text("[sources]\nbilling = ['bills/']\n", encoding="utf-8")
    result = finops("run", "--month", "2026-05", "--config", str(config))
    assert result.returncode == 1
    assert "no billing rows dated 2026-05" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout

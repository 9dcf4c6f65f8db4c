"""The configuration file is checked on load (DESIGN §5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.config import Config, load_config
from transforms.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "finops.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_empty_file_gives_every_default(tmp_path):
    config = load_config(write(tmp_path, ""))
    assert config.report.currency == "USD"
    assert config.telemetry.idle_threshold == 0.05
    assert config.people.min_group_size == 3
    assert config.email is None
    assert config.sources.lookahead_months == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # a typo at the top level names the nearest table
        (
            "[reprot]\ncurrency = 'EUR'\n",
            "unknown key 'reprot' in the top level; did you mean 'report'?",
        ),
        # a typo inside a table names the nearest key of that table
        (
            "[telemetry]\nidle_treshold = 0.1\n",
            "unknown key 'idle_treshold' in [telemetry]; did you mean 'idle_threshold'?",
        ),
        # inside an array of tables
        (
            "[[inventory]]\nhost='a'\nlocation='cloud'\ngpus=1\ngpu=2\n",
            "unknown key 'gpu' in [inventory]; did you mean 'gpus'?",
        ),
    ],
)
def test_unknown_keys_name_the_nearest_known_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert str(info.value).endswith(message)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (
            "[telemetry]\nidle_threshold = 'low'\n",
            "telemetry.idle_threshold must be a number; found 'low'",
        ),
        (
            "[report]\nteam_reports = 'some'\n",
            "report.team_reports must be one of all, configured, none; found 'some'",
        ),
        ("[[inventory]]\nhost='a'\ngpus=1\n", "[inventory] needs the key 'location'"),
        ("[fx]\nEUR = -1\n", "[fx] EUR must be a positive number"),
        ("[sources]\nbilling = 'bills/'\n", "sources.billing must be a list"),
    ],
)
def test_wrong_values_are_named(tmp_path, text, fragment):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert fragment in str(info.value)


def test_relative_paths_resolve_against_the_file(tmp_path):
    config = load_config(
        write(
            tmp_path,
            "[sources]\nbilling = ['bills/', 's3://b/p']\n[report]\nout = 'o'\n",
        )
    )
    assert config.sources.billing == [str(tmp_path / "bills"), "s3://b/p"]
    assert config.report.out == str(tmp_path / "o")


def test_the_full_example_of_design_loads(tmp_path):
    text = """
[report]
currency = "USD"
[fx]
as_of = "2026-10-31"
EUR = 1.08
[allocation.aliases]
"ml-platform" = "platform"
[[allocation.shared]]
name = "shared-network"
services = ["AWS Data Transfer"]
method = "fixed"
weights = {research = 60, inference = 40}
[email]
host = "smtp.example.com"
recipients = ["a@example.com"]
[teams.research]
email = "r@example.com"
budget = 40000
[[plans]]
name = "A"
servers = 10
gpus_per_server = 8
cost = 500000
benefit = 600000
"""
    config = load_config(write(tmp_path, text))
    assert isinstance(config, Config)
    assert config.fx_rates == {"EUR": 1.08}
    assert config.fx_as_of == "2026-10-31"
    assert config.allocation.shared[0].weights == {"research": 60.0, "inference": 40.0}
    assert config.email.port == 587
    assert config.teams["research"].budget == 40000.0
    assert config.plans[0].horizon_months == 36


def test_a_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # a negative overhead would lower pay; a group of 0 would show one person's pay
        (
            "[people]\noverhead_rate = -3\n",
            "people.overhead_rate must be between 0 and 10; found -3.0",
        ),
        (
            "[people]\nmin_group_size = 0\n",
            "people.min_group_size must be at least 1; found 0",
        ),
        (
            "[telemetry]\nidle_threshold = 5\n",
            "telemetry.idle_threshold must be between 0 and 1; found 5.0",
        ),
        ("[energy]\npue = 0.5\n", "energy.pue must be between 1 and 5; found 0.5"),
        # a string where a list belongs says how to write the list
        (
            "[sources]\nbilling = 'x.csv'\n",
            "sources.billing must be a list; found 'x.csv'; write it as ['x.csv']",
        ),
    ],
)
def test_values_out_of_range_are_refused(tmp_path, text, message):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    assert str(info.value).endswith(message)

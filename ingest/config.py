"""The configuration file, `finops.toml`: its schema and a strict loader.

Every table of DESIGN §5 is a frozen dataclass below. Loading checks each key: an
unknown key is an error naming the nearest known one, a value of the wrong type is an
error naming the key and the type expected. Relative paths are resolved against the
file's folder. Secrets never live here: only the names of environment variables that
hold them.
"""

from __future__ import annotations

import dataclasses
import difflib
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from transforms.errors import ConfigError


@dataclass(frozen=True)
class ReportConfig:
    currency: str = "USD"
    out: str = "out"
    title: str = "AI infrastructure cost"
    team_reports: str = "configured"
    final_after_day: int = 5


@dataclass(frozen=True)
class RunConfig:
    task_runner: str = "threads"
    dask_address: str = ""


@dataclass(frozen=True)
class SourcesConfig:
    billing: list[str] = field(default_factory=list)
    telemetry: list[str] = field(default_factory=list)
    hr: list[str] = field(default_factory=list)
    lookahead_months: int = 1


@dataclass(frozen=True)
class S3Config:
    endpoint_url: str = ""


@dataclass(frozen=True)
class SharedPool:
    name: str
    method: str = "proportional"
    services: list[str] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    categories: list[str] = field(default_factory=list)
    source_teams: list[str] = field(default_factory=list)
    weights: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class AllocationConfig:
    team_tag: str = "team"
    aliases: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)
    shared: list[SharedPool] = field(default_factory=list)


@dataclass(frozen=True)
class TelemetryConfig:
    timezone: str = "UTC"
    idle_threshold: float = 0.05
    max_gap_seconds: float = 0
    default_interval_seconds: float = 60
    idle_policy: str = "separate"
    hosts: dict[str, str] = field(default_factory=dict)
    namespaces: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InventoryHost:
    host: str
    location: str
    gpus: int
    gpu_model: str = ""
    power_cap_watts: float = 0
    team: str = ""
    purchase_cost: float = 0
    depreciation_months: int = 48
    maintenance_rate: float = 0.0
    resource_id: str = ""
    resource_pattern: str = ""
    resource_tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EnergyConfig:
    price_per_kwh: float = 0.0
    pue: float = 1.0


@dataclass(frozen=True)
class PricesConfig:
    market_gpu_hour: float = 0.0
    commitment_discount: float = 0.30


@dataclass(frozen=True)
class RecommendationsConfig:
    idle_share: float = 0.9
    min_observed_hours: float = 24
    target_utilization: float = 0.7
    anomaly_threshold: float = 3.5


@dataclass(frozen=True)
class PeopleConfig:
    overhead_rate: float = 0.0
    min_group_size: int = 3
    salt_env: str = "FINOPS_ID_SALT"
    platform_teams: list[str] = field(default_factory=list)
    splits: str = ""
    departments: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EmailConfig:
    host: str = ""
    port: int = 587
    security: str = "starttls"
    sender: str = ""
    recipients: list[str] = field(default_factory=list)
    username: str = ""
    password_env: str = "FINOPS_SMTP_PASSWORD"


@dataclass(frozen=True)
class TeamConfig:
    email: str = ""
    budget: float = 0.0


@dataclass(frozen=True)
class Plan:
    name: str
    cost: float
    benefit: float
    servers: int = 0
    gpus_per_server: int = 0
    horizon_months: int = 36


@dataclass(frozen=True)
class Config:
    report: ReportConfig = field(default_factory=ReportConfig)
    run: RunConfig = field(default_factory=RunConfig)
    sources: SourcesConfig = field(default_factory=SourcesConfig)
    s3: S3Config = field(default_factory=S3Config)
    fx: dict[str, Any] = field(default_factory=dict)
    allocation: AllocationConfig = field(default_factory=AllocationConfig)
    categories: dict[str, str] = field(default_factory=dict)
    telemetry: TelemetryConfig = field(default_factory=TelemetryConfig)
    inventory: list[InventoryHost] = field(default_factory=list)
    energy: EnergyConfig = field(default_factory=EnergyConfig)
    prices: PricesConfig = field(default_factory=PricesConfig)
    recommendations: RecommendationsConfig = field(
        default_factory=RecommendationsConfig
    )
    people: PeopleConfig = field(default_factory=PeopleConfig)
    email: EmailConfig | None = None
    teams: dict[str, TeamConfig] = field(default_factory=dict)
    plans: list[Plan] = field(default_factory=list)
    # Where the file was read from; relative paths were resolved against its folder.
    path: str = ""

    @property
    def fx_rates(self) -> dict[str, float]:
        """Currency code -> units of report currency per unit of that currency."""
        return {k: float(v) for k, v in self.fx.items() if k != "as_of"}

    @property
    def fx_as_of(self) -> str:
        return str(self.fx.get("as_of", ""))


# Checks on values that the type alone does not catch: key path -> allowed values.
_CHOICES = {
    "report.team_reports": {"configured", "all", "none"},
    "run.task_runner": {"threads", "dask"},
    "telemetry.idle_policy": {"separate", "share"},
    "inventory.location": {"onprem", "cloud"},
    "email.security": {"starttls", "ssl", "none"},
    "allocation.shared.method": {"even", "proportional", "fixed", "gpu_hours"},
}


# Numbers with a sensible range: key path -> (lowest, highest); None is unbounded.
_RANGES = {
    "report.final_after_day": (1, 28),
    "sources.lookahead_months": (0, 12),
    "telemetry.idle_threshold": (0, 1),
    "telemetry.max_gap_seconds": (0, None),
    "telemetry.default_interval_seconds": (1, None),
    "inventory.gpus": (1, None),
    "inventory.power_cap_watts": (0, None),
    "inventory.purchase_cost": (0, None),
    "inventory.depreciation_months": (1, None),
    "inventory.maintenance_rate": (0, 1),
    "energy.price_per_kwh": (0, None),
    "energy.pue": (1, 5),
    "prices.market_gpu_hour": (0, None),
    "prices.commitment_discount": (0, 1),
    "recommendations.idle_share": (0, 1),
    "recommendations.min_observed_hours": (0, None),
    "recommendations.target_utilization": (0.01, 1),
    "recommendations.anomaly_threshold": (0, None),
    "people.overhead_rate": (0, 10),
    "people.min_group_size": (1, None),
    "email.port": (1, 65535),
    "plans.horizon_months": (1, None),
}


def load_config(path: str | Path) -> Config:
    """Read, check and resolve a `finops.toml`."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{path}: configuration file not found; pass --config FILE "
            "or run `finops demo` to see a working example"
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return config_from_dict(raw, base=path.parent, source=str(path))


def config_from_dict(
    raw: dict[str, Any], *, base: Path | None = None, source: str = "finops.toml"
) -> Config:
    """Build a checked Config from parsed TOML; paths resolve against `base`."""
    config = _build(Config, raw, prefix="", source=source)
    base = base or Path.cwd()
    sources = dataclasses.replace(
        config.sources,
        billing=[_resolve(p, base) for p in config.sources.billing],
        telemetry=[_resolve(p, base) for p in config.sources.telemetry],
        hr=[_resolve(p, base) for p in config.sources.hr],
    )
    people = config.people
    if people.splits:
        people = dataclasses.replace(people, splits=_resolve(people.splits, base))
    out = config.report.out
    report = dataclasses.replace(config.report, out=_resolve(out, base))
    _check_fx(config.fx, source)
    return dataclasses.replace(
        config, sources=sources, people=people, report=report, path=source
    )


def _resolve(value: str, base: Path) -> str:
    if "://" in value or Path(value).is_absolute():
        return value
    return str((base / value).resolve())


def _check_fx(fx: dict[str, Any], source: str) -> None:
    for key, value in fx.items():
        if key == "as_of":
            continue
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise ConfigError(
                f"{source}: [fx] {key} must be a positive number (units of report "
                f"currency per {key}); found {value!r}"
            )


def _build(cls: type, raw: Any, *, prefix: str, source: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source}: [{prefix or 'top level'}] must be a table; found {raw!r}"
        )
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "path"}
    values = {}
    for key, value in raw.items():
        if key not in fields:
            raise ConfigError(_unknown_key(key, list(fields), prefix, source))
        name = f"{prefix}.{key}" if prefix else key
        values[key] = _convert(hints[key], value, name=name, source=source)
    missing = [
        name
        for name, f in fields.items()
        if f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
        and name not in values
    ]
    if missing:
        where = prefix or "top level"
        raise ConfigError(f"{source}: [{where}] needs the key {missing[0]!r}")
    return cls(**values)


def _convert(hint: Any, value: Any, *, name: str, source: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, name=name, source=source)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value, prefix=name, source=source)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(_wrong_type(name, "a list", value, source))
        return [_convert(args[0], v, name=name, source=source) for v in value]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(_wrong_type(name, "a table", value, source))
        return {
            str(k): _convert(args[1], v, name=f"{name}.{k}", source=source)
            for k, v in value.items()
        }
    return _scalar(hint, value, name=name, source=source)


def _scalar(hint: Any, value: Any, *, name: str, source: str) -> Any:
    if hint is Any:
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(_wrong_type(name, "a number", value, source))
        value = float(value)
    elif hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(_wrong_type(name, "a whole number", value, source))
    elif hint is str and not isinstance(value, str):
        raise ConfigError(_wrong_type(name, "a string", value, source))
    bounds = _RANGES.get(name)
    if bounds and not _within(value, *bounds):
        low, high = bounds
        span = f"at least {low}" if high is None else f"between {low} and {high}"
        raise ConfigError(f"{source}: {name} must be {span}; found {value!r}")
    choices = _CHOICES.get(name)
    if choices and value not in choices:
        raise ConfigError(
            f"{source}: {name} must be one of {', '.join(sorted(choices))}; "
            f"found {value!r}"
        )
    return value


def _within(value: float, low: float, high: float | None) -> bool:
    return value >= low and (high is None or value <= high)


def _wrong_type(name: str, expected: str, value: Any, source: str) -> str:
    hint = f"; write it as [{value!r}]" if expected == "a list" else ""
    return f"{source}: {name} must be {expected}; found {value!r}{hint}"


def _unknown_key(key: str, known: list[str], prefix: str, source: str) -> str:
    where = f"[{prefix}]" if prefix else "the top level"
    near = difflib.get_close_matches(key, known, n=1, cutoff=0.0)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    return f"{source}: unknown key {key!r} in {where}{hint}"

"""How numbers read in the report: money, hours, energy, shares.

Money: thousands separators, two decimals, the currency after ("1,234.50 USD").
Hours and kWh: one decimal. Shares and utilization: a percentage with one decimal.
A missing value (None) prints as "n/a" so an undefined figure is never shown as 0.
"""

from __future__ import annotations

from transforms.money import to_cents

MISSING = "n/a"


def money(amount: float | None, currency: str = "") -> str:
    if amount is None:
        return MISSING
    text = f"{to_cents(amount):,.2f}"
    if text == "-0.00":
        text = "0.00"
    return f"{text} {currency}".strip()


def signed_money(amount: float | None, currency: str = "") -> str:
    """Money with an explicit sign, for changes: "+1,204.33 USD"."""
    text = money(amount, currency)
    if amount is not None and to_cents(amount) > 0:
        return "+" + text
    return text


def hours(value: float | None) -> str:
    return MISSING if value is None else f"{value:,.1f}"


def kwh(value: float | None) -> str:
    return MISSING if value is None else f"{value:,.1f} kWh"


def percent(share: float | None) -> str:
    return MISSING if share is None else f"{share * 100:,.1f} %"


def signed_percent(share: float | None) -> str:
    if share is None:
        return MISSING
    sign = "+" if share > 0 else ""
    return f"{sign}{share * 100:,.1f} %"


def number(value: float | None, places: int = 2) -> str:
    return MISSING if value is None else f"{value:,.{places}f}"


FILTERS = {
    "money": money,
    "signed_money": signed_money,
    "hours": hours,
    "kwh": kwh,
    "percent": percent,
    "signed_percent": signed_percent,
    "number": number,
}


def plain(value: object) -> str:
    """A value from evidence or assumptions: numbers grouped, floats to 3 places."""
    if isinstance(value, bool) or value is None:
        return MISSING if value is None else str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".")
    if isinstance(value, dict):  # nested evidence reads as "key value; key value"
        return "; ".join(f"{k} {plain(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(plain(v) for v in value)
    return str(value)


# How each KPI of DESIGN §4 reads; a KPI not listed prints as a plain number.
KPI_KINDS = {
    "cost_savings_rate": "share",
    "gpu_utilization": "share",
    "capacity_utilization": "share",
    "effective_savings_rate": "share",
    "allocation_coverage": "share",
    "people_share": "share",
    "energy_kwh": "kwh",
    "energy_cost": "money",
    "cost_per_gpu_hour": "money",
    "cost_per_busy_gpu_hour": "money",
    "people_cost_per_busy_gpu_hour": "money",
    "gpus_per_platform_engineer": "number",
}


def kpi_value(value: float | None, name: str, currency: str = "") -> str:
    kind = KPI_KINDS.get(name, "number")
    if kind == "share":
        return percent(value)
    if kind == "money":
        return money(value, currency)
    if kind == "kwh":
        return kwh(value)
    return number(value)


def kpi_change(value: float | None, name: str, currency: str = "") -> str:
    """A KPI's change: shares in percentage points, money signed."""
    if value is None:
        return MISSING
    kind = KPI_KINDS.get(name, "number")
    if kind == "share":
        sign = "+" if value > 0 else ""
        return f"{sign}{value * 100:,.1f} pp"
    if kind == "money":
        return signed_money(value, currency)
    sign = "+" if value > 0 else ""
    return sign + (kwh(value) if kind == "kwh" else number(value))


FILTERS.update({"plain": plain, "kpi_value": kpi_value, "kpi_change": kpi_change})

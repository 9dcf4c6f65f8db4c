"""The `finops` command: demo, run, backfill, validate, send, generate.

Each sub-command is a thin shell over a flow or a stage. Errors of this project print
one clear message and exit with the error's code; nothing prints raw rows, pay or
secrets.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from transforms.errors import FinOpsError

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# The embedded server can take a while to start on a small, busy machine.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")

# Libraries whose chatter is not for the person at the terminal unless --verbose:
# WeasyPrint warns about every SVG property it ignores; the embedded server logs its
# shutdown; Great Expectations announces temporary folders.
QUIET_LOGGERS = ("weasyprint", "fontTools", "great_expectations", "uvicorn", "asyncio")


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _logging(args.verbose)
    try:
        return int(args.handler(args) or 0)
    except FinOpsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        findings = getattr(exc, "findings", None) or []
        for finding in findings[:20]:
            print(f"  - [{finding.source}] {finding.message}", file=sys.stderr)
        return exc.exit_code


def _logging(verbose: bool) -> None:
    """Flow logs and library warnings only with --verbose; errors always print."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if verbose else "CRITICAL")
    level = logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # libraries set their own levels
        handler.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.CRITICAL)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="finops",
        description="Monthly cost report of AI infrastructure: cloud bills, GPU "
        "telemetry and payroll to a PDF, allocated to teams.",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show the flow's log lines"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="write the demo month 2026-10 and report it")
    demo.add_argument("--out", default="demo-out", help="folder for inputs and report")
    demo.set_defaults(handler=_demo)

    run = sub.add_parser("run", help="run the monthly flow for one month")
    _month_args(run)
    run.add_argument("--no-email", action="store_true", help="write, do not send")
    run.add_argument("--resend", action="store_true", help="send even if sent before")
    run.set_defaults(handler=_run)

    backfill = sub.add_parser("backfill", help="run a range of months in order")
    backfill.add_argument("--from", dest="first", required=True, metavar="YYYY-MM")
    backfill.add_argument("--to", dest="last", required=True, metavar="YYYY-MM")
    _config_args(backfill)
    backfill.add_argument(
        "--resend", action="store_true", help="email months already emailed again"
    )
    backfill.set_defaults(handler=_backfill)

    validate = sub.add_parser("validate", help="validation only; exit 0, 1 or 2")
    validate.add_argument("--month", required=True, metavar="YYYY-MM")
    validate.add_argument("--config", default="finops.toml")
    validate.set_defaults(handler=_validate)

    send = sub.add_parser("send", help="email an existing report")
    _month_args(send)
    send.set_defaults(handler=_send)

    generate = sub.add_parser("generate", help="write a synthetic month of inputs")
    generate.add_argument("--month", required=True, metavar="YYYY-MM")
    generate.add_argument("--size", choices=["S", "M", "L"], default="S")
    generate.add_argument("--out", required=True)
    generate.add_argument(
        "--formats",
        nargs="+",
        choices=["parquet", "csv.gz"],
        default=["parquet", "csv.gz"],
        help="M and L: which copies to write (default both)",
    )
    generate.set_defaults(handler=_generate)
    return parser


def _config_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default="finops.toml", help="finops.toml path")
    parser.add_argument("--out", default=None, help="output folder ([report] out)")


def _month_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--month", required=True, metavar="YYYY-MM")
    _config_args(parser)


def _demo(args: argparse.Namespace) -> int:
    from flows.monthly import monthly_report
    from flows.synthetic import write_demo

    config = write_demo(Path(args.out))
    result = monthly_report(month="2026-10", config_path=str(config), send=False)
    print(f"demo inputs and configuration: {config}")
    print(f"report: {result['report']}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from flows.months import check
    from ingest.config import load_config

    check(args.month)  # refuse a bad month or configuration before Prefect starts
    config = load_config(args.config)
    from flows.runners import monthly_flow

    # [run] task_runner picks threads or a Dask cluster for the extract tasks.
    result = monthly_flow(config)(
        month=args.month,
        config_path=args.config,
        out=args.out,
        send=not args.no_email,
        resend=args.resend,
    )
    print(f"report: {result['report']}")
    delivery = result.get("delivery") or {}
    if delivery.get("error"):
        print(f"email not sent: {delivery['error']}", file=sys.stderr)
    return 0


def _backfill(args: argparse.Namespace) -> int:
    from flows.months import month_range
    from ingest.config import load_config

    month_range(args.first, args.last)
    load_config(args.config)
    from flows.backfill import backfill

    return backfill(
        args.first, args.last, config_path=args.config, out=args.out, resend=args.resend
    )


def _validate(args: argparse.Namespace) -> int:
    from flows.validate_only import validate_only

    return validate_only(args.month, args.config)


def _send(args: argparse.Namespace) -> int:
    from flows.months import check, with_out
    from ingest.config import load_config

    check(args.month)
    config = load_config(args.config)
    if args.out:
        config = with_out(config, args.out)
    if config.email is None or not config.email.host:
        raise FinOpsError(
            f"{args.config}: no [email] table with a host; add [email] with host, "
            "port, security, sender and recipients (the password comes from the "
            "variable password_env names), then run `finops send` again"
        )
    if not (Path(config.report.out) / args.month / "report.pdf").is_file():
        raise FinOpsError(
            f"no report for {args.month} in {config.report.out}; run "
            f"`finops run --month {args.month}` first"
        )
    from flows.monthly import send_existing

    delivery = send_existing(args.month, config_path=args.config, out=args.out)
    if not delivery.get("sent"):
        print(f"email not sent: {delivery.get('error') or delivery.get('reason')}")
        return 1
    print(f"sent to {', '.join(delivery.get('to', []))}")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from flows.synthetic import generate

    config = generate(args.month, args.size, Path(args.out), args.formats)
    print(f"configuration: {config}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

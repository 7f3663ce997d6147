"""How the CLI's commands set up their parsers and options, in one place.

Owns: the number checks of every numeric option (what they accept and the one line argparse prints
when they do not), a subcommand's parser (help, description, epilog, handler), and the options that
several commands take with the same meaning (`--database`, `--output`). Each command module keeps
only what is its own (its flags, epilog and handler), so a rule about arguments changes here once.
Imports nothing heavy: building the parser (every command, `--help`) stays fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

DATABASE_DEFAULT_WORDS = (
    "default: [dbt_cloud] publish_path (the reader copy) when set, else the loader's file "
    "(DESTINATION__DUCKDB__CREDENTIALS, else dbt_runs.duckdb in the working directory)"
)
"""Which DuckDB file a reader opens without `--database`, as `store.store_path` decides it."""


# -- numbers ------------------------------------------------------------------------------------


def _range_words(low: float, high: float | None, inclusive: bool) -> str:
    if high is not None:
        return f"between {low:g} and {high:g}"
    return f"{low:g} or more" if inclusive else f"more than {low:g}"


def whole_number(low: int = 1, high: int | None = None, noun: str = "whole number") -> Callable[[str], int]:
    """An argparse `type` for an integer from `low` to `high` (inclusive; no upper bound when None).

    `noun` names what is expected in the message for text that is no number ("not a port number").
    """

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {noun}: {value!r}") from None
        if number < low or (high is not None and number > high):
            raise argparse.ArgumentTypeError(f"must be {_range_words(low, high, True)}, not {value}")
        return number

    return parse


def decimal_number(low: float = 0.0, inclusive: bool = True) -> Callable[[str], float]:
    """An argparse `type` for a number of at least `low` (or more than `low` when not `inclusive`)."""

    def parse(value: str) -> float:
        try:
            number = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
        if not (number >= low if inclusive else number > low):  # also refuses nan
            raise argparse.ArgumentTypeError(f"must be {_range_words(low, None, inclusive)}, not {value}")
        return number

    return parse


positive_int = whole_number(1)
"""Counts and limits: `--limit 20`, `--step 2`."""
positive_float = decimal_number(0.0, inclusive=False)
"""Durations that must pass: `--timeout`, `--poll-seconds`."""
non_negative_float = decimal_number(0.0)
"""Durations where 0 means none: `--lock-wait`, `--lookback-hours`."""


# -- parsers and shared options ---------------------------------------------------------------


def add_command(
    subparsers: Any,
    name: str,
    help_text: str,
    handler: Callable[[argparse.Namespace], int],
    description: str | None = None,
    epilog: str | None = None,
) -> argparse.ArgumentParser:
    """A subcommand's parser, whose `handler` runs the command; the description defaults to the help."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name,
        help=help_text,
        description=description or help_text[0].upper() + help_text[1:] + ".",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    return parser


def add_database_option(parser: argparse.ArgumentParser) -> None:
    """`--database PATH`: the DuckDB store a reader (report, MCP server) opens read-only."""
    parser.add_argument(
        "--database",
        type=Path,
        metavar="PATH",
        help=f"the DuckDB file to read; {DATABASE_DEFAULT_WORDS}",
    )


def add_output_option(
    parser: argparse.ArgumentParser, help_text: str, default: Path | None = None, metavar: str = "PATH"
) -> None:
    """`-o/--output PATH`: the file a command writes instead of its default (or stdout)."""
    parser.add_argument("-o", "--output", type=Path, default=default, metavar=metavar, help=help_text)

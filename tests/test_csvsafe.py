"""CSV outputs: text that a spreadsheet would run as a formula is written as text."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from reports.csvsafe import write_csv


def read_rows(path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),  # formula
        ("+1+2", "'+1+2"),  # plus
        ("-2+3", "'-2+3"),  # minus
        ("@SUM(A1)", "'@SUM(A1)"),  # at sign
        ("\t=1", "'\t=1"),  # a tab before the formula
        ("research", "research"),  # ordinary text unchanged
        ("a=b", "a=b"),  # a formula sign inside is harmless
        ("", ""),  # empty text stays empty
    ],
)
def test_text_cells_that_start_a_formula_get_an_apostrophe(tmp_path, cell, written):
    path = tmp_path / "out.csv"
    write_csv(pd.DataFrame({"team": [cell]}), path)

    assert read_rows(path)[1] == [written]


def test_numbers_stay_numbers_and_text_numbers_are_text(tmp_path):
    frame = pd.DataFrame(
        {
            "team": ["research", "=cmd|' /C calc'!A0"],
            "amount": [-2500.25, 1234.5],
            "gpus": [8, -1],
            "note": ["-2500", None],
        }
    )
    path = tmp_path / "allocation.csv"

    write_csv(frame, path)

    rows = read_rows(path)
    assert rows[1] == ["research", "-2500.25", "8", "'-2500"]
    assert rows[2] == ["'=cmd|' /C calc'!A0", "1234.5", "-1", ""]
    back = pd.read_csv(path)
    assert back["amount"].sum() == pytest.approx(-2500.25 + 1234.5)
    assert back["gpus"].dtype.kind == "i"


def test_column_names_are_neutralised_and_the_input_frame_is_untouched(tmp_path):
    frame = pd.DataFrame({"=evil": ["@x"], "amount": [1.0]})
    path = tmp_path / "out.csv"

    write_csv(frame, path)

    assert read_rows(path)[0] == ["'=evil", "amount"]
    assert list(frame.columns) == ["=evil", "amount"]
    assert frame.iloc[0, 0] == "@x"


def test_string_and_categorical_dtypes_are_checked_too(tmp_path):
    frame = pd.DataFrame(
        {
            "s": pd.Series(["+a", "b"], dtype="string"),
            "c": pd.Series(["-x", "y"], dtype="category"),
        }
    )
    path = tmp_path / "out.csv"

    write_csv(frame, path)

    assert read_rows(path)[1:] == [["'+a", "'-x"], ["b", "y"]]

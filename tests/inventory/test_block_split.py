"""Quote-free CSV blocks: split at line ends and delimiters, they give the csv module's records."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from auditor.inventory import read_csv
from auditor.inventory.read import TableChunks
from auditor.inventory.read_csv import CsvBlock, Records, sniff_encoding


def _by_csv_module(block: CsvBlock) -> tuple[list[tuple[int, list[str]]], int, dict[int, str]]:
    records = Records(block.source, block.headers)
    text = block.data.decode("utf-8")
    rows = list(records.rows(csv.reader(io.StringIO(text, newline=""), delimiter=block.delimiter), block.first_line))
    return rows, records.blank, records.take_problems()


@pytest.mark.parametrize("text", [
    "a,b,c\r\nd,e,f\r\n",
    "a,b,c\nd,e,f",                       # no final line end
    "a,b,c\n\n  ,\t, \n d , e,f \n",      # blank and whitespace-only lines, spaces kept in cells
    "a,b\nd,e,f,g\n",                     # short and long rows: the csv module pads, cuts and says so
    "a,b,c\rd,e,f\n",                     # a lone CR ends a record for the csv module
    "x\\y,=1,-2\n,,\n",
])
def test_split_block_equals_the_csv_module(text: str) -> None:
    block = CsvBlock("f.csv", "utf-8", ",", ["h1", "h2", "h3"], 10, text.encode("utf-8"))
    table, blank = block.table()
    rows, blank_ref, problems = _by_csv_module(block)
    assert (table.rows, blank, table.row_problems) == (rows, blank_ref, problems)


def test_tab_delimited_block() -> None:
    block = CsvBlock("f.tsv", "utf-8", "\t", ["h1", "h2"], 3, b"a\tb\n\t\n c\td \n")
    table, blank = block.table()
    assert (table.rows, blank) == ([(3, ["a", "b"]), (5, [" c", "d "])], 1)


def test_a_crlf_split_by_a_read_block_is_not_a_lone_cr(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "nodes.csv"
    path.write_bytes(b"id,lon,lat\r\n" + b"".join(b"N%d,121.5,31.2\r\n" % i for i in range(50)))
    for size in range(5, 40):  # some of these sizes end a block between a CR and its LF
        monkeypatch.setattr(read_csv, "READ_BLOCK", size)
        assert sniff_encoding(path).plain_lines, size
    path.write_bytes(b"id,lon,lat\r\nN1,121.5,31.2\rN2,121.6,31.2\r\n")
    assert not sniff_encoding(path).plain_lines
    monkeypatch.setattr(read_csv, "READ_BLOCK", 12)  # the lone CR ends a block
    path.write_bytes(b"id,lon,lat\r\nN1,12\r1.5,31.2\r\n")
    assert not sniff_encoding(path).plain_lines


def test_chunks_of_a_crlf_file_are_blocks(tmp_path: Path) -> None:
    path = tmp_path / "nodes.csv"
    path.write_bytes(b"id,lon,lat\r\n" + b"".join(b"N%d,121.5,31.2\r\n" % i for i in range(100)))
    chunks = list(TableChunks(path, 30))
    assert all(isinstance(c, CsvBlock) for c in chunks)
    rows = [r for c in chunks for r in c.table()[0].rows]
    assert [r[0] for r in rows] == list(range(2, 102)) and rows[-1][1] == ["N99", "121.5", "31.2"]


@pytest.mark.parametrize("text", [
    "a,b,c\r\nd,e,f\r\n", "a,b,c\nd,e,f", " a , b,c\n=1,-2,@3\n", "a,b,c\n\nd,e,f\n", "a,b\nd,e,f,g\n", "a,b,c\rd,e,f\n", ",,\n",
    " ,b,c\n,e,\n",          # blank first cells on lines that are not blank: still columns
    "a,b,c\n \t, ,\n",       # a whitespace-only line is blank
    "a,b,c,d\ne,f\n",         # as many delimiters in all as two lines of three cells, spread otherwise
])
def test_split_columns_are_the_table_rows_or_nothing(text: str) -> None:
    block = CsvBlock("f.csv", "utf-8", ",", ["h1", "h2", "h3"], 10, text.encode("utf-8"))
    table, blank = block.table()
    split = block.split_columns()
    if split is None:  # a blank line, a row of another width or a lone CR: the rows are read the other way
        assert blank or table.row_problems or len(table.rows) != text.replace("\r\n", "\n").rstrip("\n").count("\n") + 1 \
            or any(len(r) != 3 for _, r in table.rows) or "\r" in text.replace("\r\n", "")
        return
    numbers, columns = split
    assert (blank, table.row_problems) == (0, {})
    assert list(zip(numbers, map(list, zip(*columns)))) == table.rows

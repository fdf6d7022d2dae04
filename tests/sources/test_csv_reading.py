"""Reading messy CSV exports: encodings, delimiters, quotes, ragged rows, line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.sources.csvfeed import CsvOptions, find_file, read_csv_file
from sync.sources.decoding import decode_feed
from sync.sources.errors import FeedError, SourceConfigError

HEADER = "Employee ID,Work Email,Last Name"


def read(tmp_path: Path, data: bytes, **options):
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    seen: list[tuple[str, ...]] = []
    parsed = read_csv_file(path, CsvOptions(**options), seen.append)
    assert seen == [parsed.columns]
    return parsed


def ids(parsed) -> list[str]:
    return [r.values["Employee ID"] for r in parsed.records]


def test_utf8_with_bom_reads_the_first_column_by_its_name(tmp_path):
    parsed = read(tmp_path, ("\ufeff" + HEADER + "\n1,a@x.com,Müller\n").encode("utf-8"))
    assert parsed.columns == ("Employee ID", "Work Email", "Last Name")
    assert parsed.records[0].values["Last Name"] == "Müller"


def test_utf16_from_excel_with_tabs(tmp_path):
    text = HEADER.replace(",", "\t") + "\r\n1\ta@x.com\tÇelik\r\n2\tb@x.com\tZoë\r\n"
    parsed = read(tmp_path, text.encode("utf-16"))
    assert parsed.delimiter == "\t" and parsed.encoding == "utf-16-le"
    assert [r.values["Last Name"] for r in parsed.records] == ["Çelik", "Zoë"]


@pytest.mark.parametrize("delimiter", [";", "|", "\t", ","])
def test_the_delimiter_is_sniffed_from_the_header(tmp_path, delimiter):
    text = HEADER.replace(",", delimiter) + f"\n1{delimiter}a@x.com{delimiter}Lee, Jr\n"
    text = text if delimiter != "," else HEADER + '\n1,a@x.com,"Lee, Jr"\n'
    parsed = read(tmp_path, text.encode())
    assert parsed.delimiter == delimiter
    assert parsed.records[0].values["Last Name"] == "Lee, Jr"


def test_a_configured_encoding_reads_a_legacy_export(tmp_path):
    parsed = read(tmp_path, (HEADER + "\n1,a@x.com,Façade\n").encode("cp1252"), encoding="cp1252")
    assert parsed.records[0].values["Last Name"] == "Façade"


def test_undecodable_bytes_reject_their_row_with_its_line_never_mojibake(tmp_path):
    data = (HEADER + "\n1,a@x.com,Lee\n").encode() + b"2,b@x.com,Fa\xe7ade\n3,c@x.com,Ok\n"
    parsed = read(tmp_path, data)
    assert ids(parsed) == ["1", "3"]
    [reject] = parsed.rejects
    assert reject.position == 3 and "e7" in reject.reason and "utf-8" in reject.reason


def test_quoted_cells_with_line_breaks_keep_the_starting_line_number(tmp_path):
    text = HEADER + '\n1,a@x.com,"Lee\nsecond line"\n2,b@x.com,Ng\n'
    parsed = read(tmp_path, text.encode())
    assert [(r.position, r.values["Last Name"]) for r in parsed.records] == [(2, "Lee\nsecond line"), (4, "Ng")]


def test_ragged_rows_are_rejected_and_trailing_delimiters_tolerated(tmp_path):
    text = HEADER + "\n1,a@x.com,Lee,\n2,b@x.com\n3,c@x.com,Ng,extra\n\n4,d@x.com,Oh\n"
    parsed = read(tmp_path, text.encode())
    assert ids(parsed) == ["1", "4"]
    assert [(r.position, "cells" in r.reason) for r in parsed.rejects] == [(3, True), (4, True)]


def test_an_unclosed_quote_rejects_one_row_and_reading_resumes(tmp_path):
    text = HEADER + '\n1,"a@x.com,Lee\n2,b@x.com,Ng\n3,c@x.com,Oh\n'
    parsed = read(tmp_path, text.encode())
    assert parsed.rejects[0].position == 2 and "never closed" in parsed.rejects[0].reason
    assert ids(parsed) == ["2", "3"]


def test_a_duplicate_header_name_is_a_clear_error(tmp_path):
    with pytest.raises(FeedError, match="names 'Work Email' twice"):
        read(tmp_path, b"Employee ID,Work Email,Work Email\n1,a,b\n")


def test_an_empty_file_is_a_clear_error(tmp_path):
    with pytest.raises(FeedError, match="empty"):
        read(tmp_path, b"\n\n")


def test_the_header_is_checked_before_any_row_is_read(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(b"Name\nbroken,\"row\n")

    def refuse(columns):
        raise FeedError(f"no id in {columns}")

    with pytest.raises(FeedError, match="no id in"):
        read_csv_file(path, CsvOptions(), refuse)


def test_a_folder_yields_its_newest_matching_file(tmp_path):
    import os

    for index, name in enumerate(["workers_1.csv", "workers_3.csv", "workers_2.csv", "notes.txt"]):
        (tmp_path / name).write_text("x")
        os.utime(tmp_path / name, (1_000_000 + index, 1_000_000 + index))
    assert find_file(tmp_path, "workers_*.csv").name == "workers_2.csv"
    with pytest.raises(FeedError, match="no file matches"):
        find_file(tmp_path, "*.xlsx")


def test_an_unknown_encoding_is_a_configuration_error():
    with pytest.raises(SourceConfigError, match="unknown encoding"):
        decode_feed(b"x", "klingon-8")

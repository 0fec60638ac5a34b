"""Excel in and out. Every import checks its upload and reads its rows here; every export writes here.

Uploads are checked from the zip directory before openpyxl parses anything, so an oversized or
zip-bomb file costs a directory read. Exports store every string as text: a parent's name typed as
``=HYPERLINK(...)`` or ``+86 138...`` must never become a formula in a principal's Excel.
"""

import datetime
import io
import zipfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_ZIP_ENTRIES = 1_000
# openpyxl reads each part through zipfile, which stops at the size the directory declares (and
# fails the CRC if the data says otherwise), so the declared total bounds what parsing can inflate.
MAX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024
# Excel's own last row: a crafted sheet claiming row 10**12 must not make us walk to it.
MAX_EXCEL_ROW = 1_048_576

# The limits above appear in these messages; change both together.
FILE_TOO_LARGE_MESSAGE = _("文件超过 10 MB，请拆分后再上传。")
NOT_XLSX_MESSAGE = _("文件不是有效的 Excel 工作簿（.xlsx）。请在 Excel 或 WPS 中另存为 .xlsx 格式后再上传。")
TOO_MANY_PARTS_MESSAGE = _(
    "工作簿内部结构异常（包含的部件过多），无法读取。请把数据复制到新建的工作簿后再上传。"
)
UNCOMPRESSED_TOO_LARGE_MESSAGE = _("工作簿解压后超过 50 MB，请拆分后再上传。")
SHEET_NOT_FOUND_MESSAGE = _("工作簿中没有名为“%(sheet)s”的工作表。")
DUPLICATE_HEADER_MESSAGE = _("表头“%(header)s”出现了不止一次，请删除重复的列后再上传。")

REQUIRED_XLSX_PARTS = ("[Content_Types].xml", "xl/workbook.xml")

AnyWorksheet = Worksheet | WriteOnlyWorksheet


def check_xlsx_upload(uploaded_file: IO[bytes]) -> None:
    """Raise ValidationError unless the file looks like an .xlsx small enough to open.

    Accepts a Django UploadedFile or any seekable binary file; leaves it positioned at the start.
    """
    if _file_size(uploaded_file) > MAX_UPLOAD_BYTES:
        raise ValidationError(FILE_TOO_LARGE_MESSAGE, code="file_too_large")
    uploaded_file.seek(0)
    try:
        with zipfile.ZipFile(uploaded_file) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise ValidationError(NOT_XLSX_MESSAGE, code="not_xlsx") from error
    finally:
        uploaded_file.seek(0)
    names = {entry.filename for entry in entries}
    if not all(part in names for part in REQUIRED_XLSX_PARTS):
        raise ValidationError(NOT_XLSX_MESSAGE, code="not_xlsx")
    if len(entries) > MAX_ZIP_ENTRIES:
        raise ValidationError(TOO_MANY_PARTS_MESSAGE, code="too_many_parts")
    if sum(entry.file_size for entry in entries) > MAX_UNCOMPRESSED_BYTES:
        raise ValidationError(UNCOMPRESSED_TOO_LARGE_MESSAGE, code="uncompressed_too_large")


def _file_size(file: IO[bytes]) -> int:
    # Django's upload handlers count the bytes received; anything else is measured.
    size = getattr(file, "size", None)
    if isinstance(size, int):
        return size
    file.seek(0, io.SEEK_END)
    return file.tell()


def read_rows(
    file: IO[bytes], *, sheet: str | None = None, header_row: int = 1
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(Excel row number, {header: cell text})`` for each non-blank row below the header.

    Runs ``check_xlsx_upload`` first. ``sheet`` is a sheet name; without it, the first worksheet.
    Cell text is stripped; a formula is read as its text (``"=A1+1"``), never evaluated; columns
    with a blank header are ignored; a cell missing from a short row reads as ``""``.
    """
    check_xlsx_upload(file)
    workbook = load_workbook(file, read_only=True, data_only=False)
    try:
        if sheet is None:
            worksheet = workbook.worksheets[0]
        elif sheet in workbook.sheetnames:
            worksheet = workbook[sheet]
        else:
            raise ValidationError(SHEET_NOT_FOUND_MESSAGE, code="sheet_not_found", params={"sheet": sheet})
        # Some producers write a wrong <dimension>; trusting it would silently drop rows or columns.
        worksheet.reset_dimensions()
        rows = worksheet.iter_rows(min_row=header_row, values_only=True)
        header_values = next(rows, None)
        if header_values is None:
            return
        headers = [cell_text(value) for value in header_values]
        _check_unique_headers(headers)
        for row_number, values in enumerate(rows, start=header_row + 1):
            if row_number > MAX_EXCEL_ROW:
                break
            texts = [cell_text(value) for value in values]
            if not any(texts):
                continue
            texts += [""] * (len(headers) - len(texts))
            yield row_number, {header: text for header, text in zip(headers, texts, strict=False) if header}
    finally:
        workbook.close()


def _check_unique_headers(headers: list[str]) -> None:
    seen: set[str] = set()
    for header in headers:
        if header and header in seen:
            raise ValidationError(
                DUPLICATE_HEADER_MESSAGE, code="duplicate_header", params={"header": header}
            )
        seen.add(header)


def cell_text(value: Any) -> str:
    """The text an importer sees for a value openpyxl read: stripped, with dates as ISO dates."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time.min:
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        # Excel stores every number as a float: a class number 3 must read "3", not "3.0".
        return str(int(value))
    text = getattr(value, "text", None)  # an ArrayFormula keeps its formula in .text
    if isinstance(text, str):
        return text.strip()
    return str(value).strip()


def new_workbook(*, write_only: bool = False) -> Workbook:
    """A workbook with no sheets: add them with ``workbook.create_sheet(title)`` in either mode.

    Write-only mode streams rows to disk and suits exports of thousands of rows; cells then cannot
    be read back or revisited.
    """
    workbook = Workbook(write_only=write_only)
    if not write_only:
        workbook.remove(workbook.active)
    workbook.properties.creator = "AfterCare"
    return workbook


def write_row(worksheet: AnyWorksheet, values: Iterable[Any]) -> None:
    """Append one row, storing every string as text (see ``set_cell_value``).

    Works on normal and write-only worksheets. A value may be a ``WriteOnlyCell`` carrying a style;
    its string value is made text too.
    """
    worksheet.append([_row_item(worksheet, value) for value in values])


def _row_item(worksheet: AnyWorksheet, value: Any) -> Any:
    if isinstance(value, Cell):
        return set_cell_value(value, value.value)
    value = _excel_value(value)
    if isinstance(value, str):
        return set_cell_value(WriteOnlyCell(worksheet), value)
    return value


def set_cell_value(cell: Cell, value: Any) -> Cell:
    """Put ``value`` in ``cell``; a string is always stored as text.

    openpyxl turns a string starting with ``=`` into a formula and ``"#N/A"`` into an error;
    overriding ``data_type`` after assigning makes it write an inline string (``t="inlineStr"``),
    which Excel and WPS show as typed and never evaluate, whatever its first character. Characters
    XML cannot hold are dropped, and CR becomes LF, as XML parsing would do anyway. Numbers,
    Decimals, dates and booleans keep their types; an aware datetime is written in local time.
    """
    value = _excel_value(value)
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def _excel_value(value: Any) -> Any:
    if isinstance(value, str | Promise):
        # str() also turns lazy translations and TextChoices members into plain text.
        text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
        return text.replace("\r\n", "\n").replace("\r", "\n")
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        # Excel has no time zones; staff expect Beijing time.
        return timezone.localtime(value).replace(tzinfo=None)
    return value


def workbook_bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

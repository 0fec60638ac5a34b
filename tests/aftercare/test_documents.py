"""PDF rendering: Chinese text with an embedded CJK font, static files served, nothing else fetched.

No database: render_pdf needs only templates and settings.
"""

import logging
import socket
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from aftercare.documents import DocumentResourceError, StaticFilesFetcher, render_pdf

TEST_TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
MARKER_CSS = '.static-marker::after { content: "静态样式已加载"; }\n'


@pytest.fixture(autouse=True)
def document_settings(settings, tmp_path):
    # Test-only templates beside the project's own, and a static dir holding one marker stylesheet.
    engine = settings.TEMPLATES[0]
    settings.TEMPLATES = [{**engine, "DIRS": [*engine["DIRS"], TEST_TEMPLATES_DIR]}]
    static_dir = tmp_path / "static"
    (static_dir / "documents_test").mkdir(parents=True)
    (static_dir / "documents_test" / "marker.css").write_text(MARKER_CSS, encoding="utf-8")
    settings.STATICFILES_DIRS = [static_dir]
    settings.STATIC_ROOT = tmp_path / "collected"


@pytest.fixture
def no_network(monkeypatch):
    """Record, and refuse, every socket connection attempted during the test."""
    attempts = []

    def refuse_connect(self, address):
        attempts.append(address)
        raise OSError("network access during a test")

    monkeypatch.setattr(socket.socket, "connect", refuse_connect)
    return attempts


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "document.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True, text=True).stdout


def embedded_fonts(pdf: bytes, tmp_path: Path) -> dict[str, str]:
    """Map each font name pdffonts lists to its `emb` column."""
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    output = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True).stdout
    fonts = {}
    for line in output.splitlines()[2:]:
        columns = line.split()
        # name, type (may hold spaces), encoding, emb, sub, uni, object number, generation
        fonts[columns[0]] = columns[-5]
    return fonts


def test_render_pdf_keeps_chinese_text_and_embeds_a_cjk_font(tmp_path):
    context = {
        "title": "三年级二班课后服务名单",
        "children": [
            {"name": "王小明", "class_name": "三年级二班", "fee": Decimal("120.00")},
            {"name": "李晓红", "class_name": "三年级二班", "fee": Decimal("95.50")},
        ],
    }

    pdf = render_pdf("documents_test/roster.html", context)

    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf, tmp_path)
    for expected in [
        "三年级二班课后服务名单",
        "王小明",
        "李晓红",
        "课时费（元）",
        "120.00",
        "95.50",
    ]:
        assert expected in text
    assert "1/1" in text.replace(" ", "")  # the page-number footer
    fonts = embedded_fonts(pdf, tmp_path)
    # pdffonts names the subset like "TSPJMR+Noto-Sans-CJK-SC".
    cjk_fonts = {name: embedded for name, embedded in fonts.items() if "NotoSansCJK" in name.replace("-", "")}
    assert cjk_fonts
    assert set(cjk_fonts.values()) == {"yes"}


def test_render_pdf_serves_static_files_through_the_fetcher(tmp_path, no_network):
    pdf = render_pdf("documents_test/roster.html", {"title": "名单", "children": []})

    assert "静态样式已加载" in pdf_text(pdf, tmp_path)
    assert no_network == []


def test_render_pdf_refuses_files_and_network_and_renders_the_rest(tmp_path, caplog, no_network):
    caplog.set_level(logging.WARNING, logger="aftercare.documents")

    pdf = render_pdf("documents_test/hostile.html", {})

    refused = {
        record.args[0]
        for record in caplog.records
        if record.name == "aftercare.documents" and record.getMessage().startswith("Refused to fetch")
    }
    # <link rel=stylesheet>; <img> and CSS url() (WeasyPrint fetches an image URL once per
    # document); CSS url() alone; <link rel=attachment>, which would embed the file in the PDF.
    assert refused == {
        "http://198.51.100.7/x.css",
        "file:///etc/passwd",
        "file:///etc/hostname",
        "file:///etc/hosts",
    }
    assert no_network == []
    text = pdf_text(pdf, tmp_path)
    assert "正文照常显示。" in text
    assert "root:x:" not in text
    assert b"root:x:" not in pdf
    (tmp_path / "hostile.pdf").write_bytes(pdf)
    attachments = subprocess.run(
        ["pdfdetach", "-list", str(tmp_path / "hostile.pdf")], capture_output=True, check=True, text=True
    ).stdout
    assert attachments.strip() == "0 embedded files"


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://198.51.100.7/x.css",
        "ftp://198.51.100.7/x.css",
        "https://static.example.com/static/documents_test/marker.css",
        "https://aftercare.invalid/media/photo.png",
        "https://aftercare.invalid/static/../aftercare/settings/base.py",
        "https://aftercare.invalid/static/%2e%2e/%2e%2e/etc/passwd",
        "https://aftercare.invalid/static/documents_test%2f..%2f..%2f..%2fetc/passwd",
        "https://aftercare.invalid/static//etc/passwd",
        "https://aftercare.invalid/static/documents_test",
        "https://aftercare.invalid/static/documents_test/missing.css",
    ],
)
def test_fetcher_refuses_anything_but_an_existing_static_file(url, caplog):
    caplog.set_level(logging.WARNING, logger="aftercare.documents")

    with pytest.raises(DocumentResourceError):
        StaticFilesFetcher()(url)

    assert [record.levelno for record in caplog.records if record.name == "aftercare.documents"] == [
        logging.WARNING
    ]


def test_fetcher_serves_a_static_file_with_its_content_type():
    response = StaticFilesFetcher()("https://aftercare.invalid/static/documents_test/marker.css?v=1")

    assert response.content_type == "text/css"
    assert response.read().decode() == MARKER_CSS


def test_fetcher_decodes_data_urls_without_other_io():
    response = StaticFilesFetcher()("data:text/plain;charset=utf-8,%E4%BD%A0%E5%A5%BD")

    assert response.content_type == "text/plain"
    assert response.read().decode() == "你好"

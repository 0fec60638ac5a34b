"""The one way a PDF is made in AfterCare: a Django template from ``templates/documents/``, then WeasyPrint.

A PDF template may load the project's own static files and nothing else. WeasyPrint would otherwise
open any URL it meets (``file://``, ``http://``, ``<link rel=attachment>``, a CSS ``url()``), and a
document that echoes user data must never be able to read the server's disk or reach the network.
"""

import logging
import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import DataHandler, Request

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation
from django.template.loader import render_to_string
from django.utils._os import safe_join
from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

logger = logging.getLogger(__name__)

# Relative and root-relative URLs in a template (what `{% static %}` gives) are joined onto this
# origin. `.invalid` is reserved (RFC 2606) and can never resolve, so even a bug here cannot turn it
# into a network request; the fetcher maps its static paths to files on disk.
DOCUMENT_BASE_URL = "https://aftercare.invalid/"


class DocumentResourceError(ValueError):
    """A PDF template referred to something the renderer will not load."""


class StaticFilesFetcher(URLFetcher):
    """WeasyPrint URL fetcher that serves only the project's static files and ``data:`` URLs.

    WeasyPrint 70 calls the fetcher object (``__call__`` → ``fetch``) and expects a
    ``URLFetcherResponse``; it reads ``_fail_on_errors`` from it when the fetch raises, hence a
    subclass of its ``URLFetcher`` rather than a plain function. The parent's urllib handlers are
    never used: ``fetch`` is replaced whole. A refusal raises, which WeasyPrint logs and skips (the
    image, stylesheet or attachment is left out) while the rest of the document renders.

    ``data:`` URLs are allowed: their bytes are already in the document, so decoding them reads
    nothing from disk or network. They are how a PDF embeds generated images (a chart, a QR code).
    """

    def __init__(self) -> None:
        super().__init__(allowed_protocols=frozenset(), allow_redirects=False, fail_on_errors=False)
        static_prefix = urlsplit(urljoin(DOCUMENT_BASE_URL, settings.STATIC_URL))
        self._static_origin = (static_prefix.scheme.lower(), static_prefix.netloc.lower())
        self._static_path = static_prefix.path

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        if urlsplit(url).scheme.lower() == "data":
            return self._fetch_data_url(url)
        relative_path = self._static_relative_path(url)
        if relative_path is None:
            logger.warning("Refused to fetch %s while rendering a PDF: only static files may be loaded", url)
            raise DocumentResourceError(f"PDF documents may only load static files, not {url}")
        file_path = _find_static_file(relative_path)
        if file_path is None:
            logger.warning("Static file %s for a PDF was not found", relative_path)
            raise DocumentResourceError(f"Static file not found: {relative_path}")
        content_type = mimetypes.guess_type(file_path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=file_path.read_bytes(), headers={"Content-Type": content_type})

    def _static_relative_path(self, url: str) -> str | None:
        """Return the path below STATIC_URL that ``url`` names, or None if it names anything else."""
        parts = urlsplit(url)
        if (parts.scheme.lower(), parts.netloc.lower()) != self._static_origin:
            return None
        if not parts.path.startswith(self._static_path):
            return None
        relative_path = unquote(parts.path[len(self._static_path) :])
        segments = relative_path.split("/")
        if "\\" in relative_path or "\x00" in relative_path or any(s in {"", ".", ".."} for s in segments):
            return None
        return relative_path

    @staticmethod
    def _fetch_data_url(url: str) -> URLFetcherResponse:
        # Only DataHandler runs, and fetch() sends it only data: URLs: nothing is opened.
        decoded = DataHandler().data_open(Request(url))  # noqa: S310
        return URLFetcherResponse(url, body=decoded.read(), headers=dict(decoded.headers))


def _find_static_file(relative_path: str) -> Path | None:
    """Look a static file up as `{% static %}` would: the finders, then the collected STATIC_ROOT.

    Both go through ``safe_join``, which refuses a path that climbs out of its root.
    """
    try:
        found = finders.find(relative_path)
    except SuspiciousFileOperation:
        return None
    candidates = [found] if isinstance(found, str) else []
    if settings.STATIC_ROOT:
        try:
            candidates.append(safe_join(settings.STATIC_ROOT, relative_path))
        except SuspiciousFileOperation:
            return None
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file():
            return path
    return None


def render_pdf(template_name: str, context: dict[str, Any]) -> bytes:
    """Render a template from ``templates/documents/`` to PDF bytes.

    Slow work: call it from a task or a plain view, never inside a transaction.
    """
    html = render_to_string(template_name, context)
    document = HTML(string=html, base_url=DOCUMENT_BASE_URL, url_fetcher=StaticFilesFetcher())
    return document.write_pdf()

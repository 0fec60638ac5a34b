"""The enrollment app's long jobs (agreement PDFs, exports)."""

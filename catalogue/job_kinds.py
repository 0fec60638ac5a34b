"""The catalogue's long jobs."""

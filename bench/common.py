"""Shared set-up for benchmarks: a throwaway database, migrated, with Django ready."""

import os
import statistics
import time


def setup_django(default_database: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aftercare.settings.base")
    os.environ.setdefault("DATABASE_URL", default_database)
    os.environ.setdefault("DEBUG", "false")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def timed(function, repeat: int) -> list[float]:
    """Milliseconds of each of ``repeat`` calls."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered):7.1f} ms   p95 {p95:7.1f} ms"

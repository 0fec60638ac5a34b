"""Run every benchmark in this folder, each in its own process (``make bench``)."""

import pkgutil
import subprocess
import sys
from pathlib import Path


def main() -> int:
    folder = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(folder)]) if m.name not in {"run", "common"})
    failed = 0
    for name in names:
        print(f"== bench.{name}", flush=True)
        command = [sys.executable, "-m", f"bench.{name}"]
        failed += subprocess.run(command, cwd=folder.parent, check=False).returncode != 0  # noqa: S603
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

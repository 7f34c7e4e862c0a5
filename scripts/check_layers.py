#!/usr/bin/env python3
"""Checks that the library's areas include each other only downwards (README, "Layout").

Each area of include/swd/ and src/ has a rank; a file may include the headers of its own area
and of areas of a lower rank, never of its own rank or above. The top-level files
(errors.h, provenance.h, runtime.h) form the second rank, with the generated build_info.h in
the first; swd.h, the umbrella include, is exempt. Prints each include that breaks the order, with its file and
line, and exits 1 if there is one.

    scripts/check_layers.py [REPOSITORY]
    scripts/check_layers.py --self-test   # a planted upward include is found
"""
import os
import re
import sys

RANKS = {
    "util": 0, "build_info": 0,
    "errors": 1, "provenance": 1, "runtime": 1,
    "optim": 2, "schedule": 2, "data": 2, "models": 2,
    "parallel": 3, "run": 3,
    "config": 4,
    "train": 5,
    "sweep": 6,
    "report": 7,
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"swd/([a-z_]+)(?:/|\.h")')


def area_of(rel):
    """The area of a file under include/swd/ or src/, or None (swd.h, unknown places)."""
    parts = rel.split("/")
    parts = parts[2:] if parts[:2] == ["include", "swd"] else parts[1:] if parts[0] == "src" else None
    if not parts:
        return None
    name = parts[0] if len(parts) > 1 else os.path.splitext(parts[0])[0]
    return None if name == "swd" else name


def self_test():
    """A tree with one include downwards and one upwards: only the second is reported."""
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as root:
        for rel, text in {"include/swd/util/io.h": "#pragma once\n",
                          "src/train/trainer.cpp": '#include "swd/util/io.h"\n',
                          "src/optim/adam.cpp": '#include "swd/util/io.h"\n#include "swd/train/trainer.h"\n'}.items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w") as f:
                f.write(text)
        out = subprocess.run([sys.executable, __file__, root], capture_output=True, text=True)
        ok = out.returncode == 1 and "src/optim/adam.cpp:2: optim (rank 2) includes train" in out.stdout \
            and "trainer.cpp" not in out.stdout
        print(out.stdout + ("self-test passed" if ok else "self-test FAILED"))
        return 0 if ok else 1


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                           os.path.join(os.path.dirname(__file__), ".."))
    problems, files = [], 0
    for top in ("include/swd", "src"):
        for folder, _, names in os.walk(os.path.join(root, top)):
            for name in sorted(names):
                if not name.endswith((".h", ".cpp")):
                    continue
                rel = os.path.relpath(os.path.join(folder, name), root)
                area = area_of(rel)
                if area is None:
                    continue
                if area not in RANKS:
                    problems.append(f"{rel}: area '{area}' has no rank in scripts/check_layers.py")
                    continue
                files += 1
                with open(os.path.join(root, rel)) as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m or m.group(1) == area:
                            continue
                        used = m.group(1)
                        if used not in RANKS:
                            problems.append(f"{rel}:{number}: includes unknown area '{used}'")
                        elif RANKS[used] >= RANKS[area]:
                            problems.append(f"{rel}:{number}: {area} (rank {RANKS[area]}) includes "
                                            f"{used} (rank {RANKS[used]}): {line.strip()}")
    for p in problems:
        print(p)
    print(f"{files} files checked, {len(problems)} includes against the layer order")
    return 1 if problems or files == 0 else 0


if __name__ == "__main__":
    sys.exit(main())

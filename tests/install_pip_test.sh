#!/usr/bin/env bash
# The Python package installed by pip, as README.md says (docs/PYTHON.md): in a virtual
# environment that sees Debian's torch (--system-site-packages), from a copy of the files the
# build needs (python/, include/, src/), `pip install --no-build-isolation ./python`
# builds the extension against that torch without downloading anything (--no-index); the
# installed package imports from the environment and steps; `pip uninstall swd` removes it.
#   tests/install_pip_test.sh SOURCE_DIR PYTHON
set -euo pipefail
source_dir=$1
python=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src"
cp -r "$source_dir/include" "$source_dir/src" "$work/src/"
(cd "$source_dir" && tar cf - --exclude=build --exclude='*.egg-info' --exclude=__pycache__ python) |
  (cd "$work/src" && tar xf -)
"$python" -m venv --system-site-packages "$work/venv"
venv_python=$work/venv/bin/python
if command -v ccache >/dev/null; then  # rebuilds of the same sources are cache hits
  mkdir -p "$work/bin"
  printf '#!/bin/sh\nexec ccache %s "$@"\n' "$(command -v c++)" > "$work/bin/c++"
  chmod +x "$work/bin/c++"
  export PATH="$work/bin:$PATH" CCACHE_BASEDIR="$work/src" CCACHE_NOHASHDIR=1
fi
(cd "$work/src" && MAX_JOBS=${MAX_JOBS:-2} "$venv_python" -m pip install --no-index \
   --no-build-isolation --break-system-packages ./python >"$work/pip.log" 2>&1) ||
  { tail -40 "$work/pip.log"; exit 1; }
site=$("$venv_python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
check='
import sys, torch, swd, swd.optim, swd.dynamics
assert swd.__file__.startswith(sys.argv[1]), swd.__file__
p = torch.nn.Parameter(torch.ones(3))
opt = swd.optim.AdamS([p], lr=0.1, weight_decay=0.1)
p.grad = torch.full((3,), 0.5)
opt.step()
assert opt.fused_parameters == 1 and 0 < p[0].item() < 1, p
print("pip: swd.optim.AdamS step ok from", swd.__file__)
'
(cd "$work" && env -u PYTHONPATH "$venv_python" -c "$check" "$site")
(cd "$work" && "$venv_python" -m pip uninstall -y swd >/dev/null)
if (cd "$work" && env -u PYTHONPATH "$venv_python" -c 'import swd' 2>/dev/null); then
  echo "pip uninstall swd left an importable swd" >&2
  exit 1
fi
[ -z "$(ls "$site" | grep -i '^swd')" ] || { ls "$site" | grep -i '^swd'; exit 1; }
echo "pip: uninstall removed swd"

#!/usr/bin/env bash
# Installs swd into a temporary prefix, builds examples/consumer against it with
# find_package(swd), and runs it: the package works for a project of its own. With a third
# argument, the Python interpreter the package was built for, also imports the installed
# Python package from PREFIX/lib/python3/dist-packages (directly, and through the swd.pth that
# PREFIX/lib/python3.X/dist-packages gets) and takes a step with it.
set -euo pipefail
build_dir=$1
source_dir=$2
python=${3:-}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build_dir" --prefix "$prefix/install" >/dev/null
cmake -S "$source_dir/examples/consumer" -B "$prefix/build" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$prefix/install" >/dev/null
cmake --build "$prefix/build" >/dev/null
"$prefix/build/train_adams" 20 | tee "$prefix/out.txt"
grep -q "step   20" "$prefix/out.txt"

[ -n "$python" ] || exit 0
packages=$prefix/install/lib/python3/dist-packages
check='
import sys, torch, swd, swd.optim
assert swd.__file__.startswith(sys.argv[1]), swd.__file__
p = torch.nn.Parameter(torch.ones(3))
opt = swd.optim.AdamS([p], lr=0.1, weight_decay=0.1)
p.grad = torch.full((3,), 0.5)
opt.step()
assert opt.fused_parameters == 1 and 0 < p[0].item() < 1, p
print("python: swd.optim.AdamS step ok from", swd.__file__)
'
(cd "$prefix" && PYTHONPATH="$packages" "$python" -c "$check" "$packages")
site=$("$python" -c 'import sys; print("lib/python%d.%d/dist-packages" % sys.version_info[:2])')
grep -qx "$packages" "$prefix/install/$site/swd.pth"
# As Debian's python3 reads PREFIX/lib/python3.X/dist-packages for PREFIX=/usr/local (put
# first here, so that an swd installed elsewhere on this machine cannot answer instead).
through_pth='
import site, sys
before = set(sys.path)
site.addsitedir(sys.argv[2])
sys.path.sort(key=lambda path: path in before)
'
(cd "$prefix" && "$python" -c "$through_pth$check" "$packages" "$prefix/install/$site")

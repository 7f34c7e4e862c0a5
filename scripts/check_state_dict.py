#!/usr/bin/python3
"""Checks that PyTorch reads swd's weights: for every model of the zoo, loads the state_dict
written by swd (torch.load) into the PyTorch definition in model_param_counts.py with
load_state_dict(strict=True) and compares its eval-mode logits with swd's (1e-4); and that
the table of key names in docs/MODELS.md (state_dict_keys.py) lists exactly swd's, in order.

    /usr/bin/python3 scripts/check_state_dict.py build/tests/state_dict_dump

The program given (tests/state_dict_dump.cpp) writes DIR/<model>.pt and DIR/<model>.check.pt
into a temporary folder. Exit status 0 when every model matches, 1 otherwise.
"""

import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model_param_counts import CASES  # noqa: E402
from state_dict_keys import documented, expand_all  # noqa: E402

MODELS_MD = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'docs', 'MODELS.md')

TOLERANCE = 1e-4


def main(dump):
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([dump, tmp], check=True, stdout=subprocess.DEVNULL)
        names = {name for name, *_ in CASES}
        written = {f[:-3] for f in os.listdir(tmp) if f.endswith('.pt') and '.check' not in f}
        if written != names:
            print(f"models without a check: {sorted(written ^ names)}")
            failures += 1
        for name, shape, classes, build in CASES:
            model = build(shape[0], classes)
            state = torch.load(os.path.join(tmp, name + '.pt'))
            check = torch.load(os.path.join(tmp, name + '.check.pt'))
            try:
                model.load_state_dict(state, strict=True)
            except RuntimeError as e:
                print(f"{name}: load_state_dict failed: {e}")
                failures += 1
                continue
            with torch.no_grad():
                logits = model.eval()(check['images'])
            diff = (logits - check['logits']).abs().max().item()
            scale = check['logits'].abs().max().item()
            ok = diff <= TOLERANCE * max(1.0, scale)
            failures += not ok
            print(f"{name:<12} {len(state):>4} tensors  max |logit diff| {diff:.2e}  "
                  f"{'ok' if ok else 'MISMATCH'}")
        # docs/MODELS.md's table of key names (state_dict_keys.py) against what swd writes
        table = documented(MODELS_MD)
        for name in sorted(names):
            keys = list(torch.load(os.path.join(tmp, name + '.pt')).keys())
            count, patterns = table.get(name, (0, []))
            if expand_all(patterns) != keys or count != len(keys):
                print(f"{name}: docs/MODELS.md's state_dict keys differ from swd's "
                      f"(regenerate the table with scripts/state_dict_keys.py)")
                failures += 1
        print(f"docs/MODELS.md: state_dict keys of {len(names)} models checked")
    return 1 if failures else 0


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))

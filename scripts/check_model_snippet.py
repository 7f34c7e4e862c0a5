#!/usr/bin/python3
"""Runs the Python snippet of docs/MODELS.md ("Reproducing a run's test error in plain
PyTorch") on a small swd run and checks that it prints the run's test error.

    /usr/bin/python3 scripts/check_model_snippet.py build/swd

Trains `mlp` on 2000 Fashion-MNIST images for one epoch into a temporary folder, runs the
snippet (the ```python block after the `model_snippet` marker) with that folder, and compares
its "test error" with the last test_error of metrics.csv: equal, or (the snippet evaluates the
10000 images in one batch where swd uses batches of 500, so a float sum may round differently)
at most one image apart. Exit status 0 when they agree, 1 otherwise, 77 (skipped) when Debian's
dataset-fashion-mnist is not installed.
"""

import csv
import os
import re
import subprocess
import sys
import tempfile

DATA = '/usr/share/datasets/fashion-mnist'
MODELS_MD = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'docs', 'MODELS.md')


def snippet():
    text = open(MODELS_MD, encoding='utf-8').read()
    found = re.search(r'<!-- model_snippet[^>]*-->\s*```python\n(.*?)```', text, re.S)
    if not found:
        sys.exit(f"{MODELS_MD}: no ```python block after the model_snippet marker")
    return found.group(1)


def main(swd):
    if not os.path.exists(os.path.join(DATA, 't10k-images-idx3-ubyte.gz')):
        print(f"skipped: {DATA} is not installed (apt-get install dataset-fashion-mnist)")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        run = os.path.join(tmp, 'run')
        subprocess.run([swd, 'train', '--model', 'mlp', '--optimizer', 'adams', '--epochs', '1',
                        '--train-subset', '2000', '--threads', '2', '--progress', 'none',
                        '--out', run], check=True)
        with open(os.path.join(run, 'metrics.csv'), newline='') as f:
            expected = float(list(csv.DictReader(f))[-1]['test_error'])
        script = os.path.join(tmp, 'snippet.py')
        with open(script, 'w') as f:
            f.write(snippet())
        printed = subprocess.run([sys.executable, script, run], check=True, capture_output=True,
                                 text=True).stdout
        found = re.search(r'test error ([0-9.]+)', printed)
        if not found:
            print(f"the snippet printed no test error: {printed!r}")
            return 1
        got = float(found.group(1))
        images = round(abs(got - expected) * 10000)
        print(f"metrics.csv test_error {expected:.4f}, the snippet's {got:.4f} "
              f"({images} images apart)")
        return 0 if images <= 1 else 1


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))

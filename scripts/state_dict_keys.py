#!/usr/bin/python3
"""The state_dict key names of swd's models in a compact, exact notation, for docs/MODELS.md.

A pattern is a brace expansion in state_dict order: `{a,b}` lists alternatives, `{0..5}`
counts, and `X.(bn)` stands for a BatchNorm's five entries X.weight, X.bias, X.running_mean,
X.running_var, X.num_batches_tracked. `{fc1,fc2,fc3}.{weight,bias}` is fc1.weight, fc1.bias,
fc2.weight, ... in that order.

    /usr/bin/python3 scripts/state_dict_keys.py     # the table of docs/MODELS.md

The names come from the PyTorch definitions in model_param_counts.py; check_state_dict.py
(ctest state_dict_torch_load) checks the table in docs/MODELS.md against the state_dicts swd
writes, name by name and in order.
"""

import os
import re
import sys

BN = ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']


def _tree(keys):
    root = {}
    for key in keys:
        node = root
        for part in key.split('.'):
            node = node.setdefault(part, {})
    return root


def _render_children(node):
    items = [(name, _render(child)) for name, child in node.items()]
    if [n for n, _ in items] == BN and all(body == '' for _, body in items):
        return ['(bn)']
    merged = []  # runs of siblings with the same body: [names], body
    for name, body in items:
        if merged and merged[-1][1] == body:
            merged[-1][0].append(name)
        else:
            merged.append(([name], body))
    out = []
    for names, body in merged:
        counted = all(n.isdigit() for n in names) and \
            [int(n) for n in names] == list(range(int(names[0]), int(names[0]) + len(names)))
        if len(names) == 1:
            head = names[0]
        elif counted:
            head = '{%s..%s}' % (names[0], names[-1])
        else:
            head = '{' + ','.join(names) + '}'
        out.append(head + ('.' + body if body else ''))
    return out


def _render(node):
    if not node:
        return ''
    parts = _render_children(node)
    return parts[0] if len(parts) == 1 else '{' + ','.join(parts) + '}'


def compact(keys):
    """The patterns (a list) whose expansions, concatenated, are `keys` in order."""
    return _render_children(_tree(keys))


def expand(pattern):
    """The names one pattern stands for, in order."""
    pattern = pattern.replace('(bn)', '{' + ','.join(BN) + '}')
    depth, start = 0, 0
    for i, ch in enumerate(pattern):
        if ch == '{':
            if depth == 0:
                start = i
            depth += 1
        elif ch == '}':
            depth -= 1
            if depth == 0:
                inner = pattern[start + 1:i]
                counted = re.fullmatch(r'(\d+)\.\.(\d+)', inner)
                if counted:
                    parts = [str(v) for v in range(int(counted.group(1)), int(counted.group(2)) + 1)]
                else:
                    parts, level, current = [], 0, ''
                    for c in inner:
                        level += (c == '{') - (c == '}')
                        if c == ',' and level == 0:
                            parts.append(current)
                            current = ''
                        else:
                            current += c
                    parts.append(current)
                rest = pattern[:start], pattern[i + 1:]
                return [k for part in parts for k in expand(rest[0] + part + rest[1])]
    return [pattern]


def expand_all(patterns):
    return [k for p in patterns for k in expand(p)]


def documented(models_md):
    """{model: [patterns]} from the state_dict table of docs/MODELS.md: rows
    | `name` | N | `pattern`, `pattern`, ... |"""
    table = {}
    for line in open(models_md, encoding='utf-8'):
        m = re.match(r'\|\s*`([a-z0-9-]+)`\s*\|\s*(\d+)\s*\|\s*(`.*`)\s*\|\s*$', line)
        if m:
            table[m.group(1)] = (int(m.group(2)), re.findall(r'`([^`]+)`', m.group(3)))
    return table


def main():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from model_param_counts import CASES
    print('| model | entries | state_dict keys |')
    print('|---|---|---|')
    for name, shape, classes, build in CASES:
        keys = list(build(shape[0], classes).state_dict().keys())
        patterns = compact(keys)
        assert expand_all(patterns) == keys, name
        print(f"| `{name}` | {len(keys)} | {', '.join('`' + p + '`' for p in patterns)} |")


if __name__ == '__main__':
    main()

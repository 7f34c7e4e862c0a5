#!/usr/bin/python3
"""Reads the TensorBoard event file of a small `swd train --tensorboard` run back with a reader
of its own (no TensorFlow, no TensorBoard, no protobuf library): every record's length, the
masked CRC-32C of the length and of the data (a bitwise CRC-32C written here), and the
tensorflow.Event protobuf decoded field by field; then compares the scalars with steps.jsonl
and metrics.csv.

    /usr/bin/python3 scripts/check_tensorboard_events.py build/swd

Exit status 0 when everything agrees, 1 otherwise.
"""

import csv
import glob
import json
import math
import os
import struct
import subprocess
import sys
import tempfile


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def records(data):
    """The records of a TFRecord file; raises ValueError on a bad length or CRC."""
    at = 0
    while at < len(data):
        if at + 12 > len(data):
            raise ValueError(f"truncated record header at byte {at}")
        header = data[at:at + 8]
        (length,) = struct.unpack('<Q', header)
        (length_crc,) = struct.unpack('<I', data[at + 8:at + 12])
        if length_crc != masked(crc32c(header)):
            raise ValueError(f"bad length CRC at byte {at}")
        body = data[at + 12:at + 12 + length]
        (body_crc,) = struct.unpack('<I', data[at + 12 + length:at + 16 + length])
        if len(body) != length or body_crc != masked(crc32c(body)):
            raise ValueError(f"bad data CRC at byte {at}")
        yield body
        at += 16 + length


def fields(message):
    """(field number, wire type, value) of a protobuf message."""
    at = 0

    def varint():
        nonlocal at
        value, shift = 0, 0
        while True:
            byte = message[at]
            at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while at < len(message):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            yield number, wire, varint()
        elif wire == 1:
            yield number, wire, message[at:at + 8]
            at += 8
        elif wire == 2:
            n = varint()
            yield number, wire, message[at:at + n]
            at += n
        elif wire == 5:
            yield number, wire, message[at:at + 4]
            at += 4
        else:
            raise ValueError(f"wire type {wire}")


def event(body):
    """tensorflow.Event: wall_time (1), step (2), file_version (3), summary (5) with its
    values' tag (1) and simple_value (2)."""
    out = {'scalars': {}}
    for number, wire, value in fields(body):
        if number == 1 and wire == 1:
            out['wall_time'] = struct.unpack('<d', value)[0]
        elif number == 2 and wire == 0:
            out['step'] = value
        elif number == 3 and wire == 2:
            out['file_version'] = value.decode()
        elif number == 5 and wire == 2:
            for n, w, v in fields(value):
                if n == 1 and w == 2:
                    tag, simple = None, None
                    for n2, w2, v2 in fields(v):
                        if n2 == 1 and w2 == 2:
                            tag = v2.decode()
                        elif n2 == 2 and w2 == 5:
                            simple = struct.unpack('<f', v2)[0]
                    out['scalars'][tag] = simple
    return out


def as_float32(x):
    return struct.unpack('<f', struct.pack('<f', x))[0]


def main(swd):
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        run = os.path.join(tmp, 'run')
        subprocess.run([swd, 'train', '--dataset', 'synthetic', '--synthetic-train', '512',
                        '--synthetic-test', '128', '--synthetic-size', '8', '--model', 'mlp',
                        '--optimizer', 'adams', '--batch-size', '64', '--epochs', '2',
                        '--log-every', '3', '--threads', '1', '--progress', 'none',
                        '--tensorboard', '--out', run], check=True)
        files = glob.glob(os.path.join(run, 'events.out.tfevents.*'))
        if len(files) != 1:
            print(f"expected one event file, found {files}")
            return 1
        with open(files[0], 'rb') as f:
            events = [event(body) for body in records(f.read())]
        if events[0].get('file_version') != 'brain.Event:2':
            problems.append(f"first event: {events[0]}")
        steps = [json.loads(line) for line in open(os.path.join(run, 'steps.jsonl'))]
        with open(os.path.join(run, 'metrics.csv'), newline='') as f:
            epochs = list(csv.DictReader(f))
        step_events = [e for e in events if 'step/loss' in e['scalars']]
        epoch_events = [e for e in events if 'epoch/test_error' in e['scalars']]
        if len(step_events) != len(steps) or len(epoch_events) != len(epochs):
            problems.append(f"{len(step_events)} step and {len(epoch_events)} epoch events for "
                            f"{len(steps)} steps.jsonl lines and {len(epochs)} epochs")
        for e, s in zip(step_events, steps):
            for key in ('loss', 'lr', 'weight_decay', 'grad_norm', 'sqrt_vbar'):
                if e['step'] != s['step'] or e['scalars']['step/' + key] != as_float32(s[key]):
                    problems.append(f"step {s['step']} {key}: {e} vs {s}")
        steps_per_epoch = 512 // 64
        for e, row in zip(epoch_events, epochs):
            if e['step'] != int(row['epoch']) * steps_per_epoch:
                problems.append(f"epoch {row['epoch']} at step {e['step']}")
            for key in ('train_loss', 'test_error', 'lr', 'weight_norm', 'decay_budget'):
                if e['scalars']['epoch/' + key] != as_float32(float(row[key])):
                    problems.append(f"epoch {row['epoch']} {key}: {e['scalars']} vs {row[key]}")
            if not math.isclose(e['wall_time'], events[0]['wall_time'], abs_tol=600):
                problems.append(f"wall time {e['wall_time']}")
    for p in problems:
        print(p)
    print(f"{len(events)} events read back: {'ok' if not problems else 'MISMATCH'}")
    return 1 if problems else 0


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))

#!/usr/bin/python3
"""Reference parameter counts for swd's model zoo.

Defines the models in PyTorch, independently of the C++ code: the CIFAR nets transcribe the
well-known kuangliu/pytorch-cifar definitions (ResNet-18/34, VGG-16, DenseNet-121,
GoogLeNet) and He et al. 2016's CIFAR ResNets (section 4.2: resnet8..resnet56, option A
shortcuts); mlp, cnn, mlp-bn and cnn-bn transcribe the architectures in src/models/small.cpp. For each it
prints the trainable parameter elements, the number of parameter tensors, and the elements
exempt from weight decay (biases and normalisation-layer parameters, swd's rule), then
checks that a forward pass gives [N, classes] logits.

With --golden it prints, as JSON, each model's logits for deterministic parameters and
images (golden_fill below), in train mode and then in eval mode, for the C++ models to
reproduce; this pins the function each model computes, not only its size.

Run with Debian's python3-torch:
    /usr/bin/python3 scripts/model_param_counts.py     # the counts tests/models_test.cpp pins
    /usr/bin/python3 scripts/model_param_counts.py --golden > tests/golden/models.json
"""

import json
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


# --- mlp and cnn (swd's own small models) --------------------------------------------------

class MLP(nn.Module):
    def __init__(self, channels, height, width, classes, hidden=256):
        super().__init__()
        self.fc1 = nn.Linear(channels * height * width, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, classes)

    def forward(self, x):
        x = x.flatten(1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


class MLPBN(nn.Module):
    """mlp-bn: BatchNorm after each hidden linear layer, which then has no bias."""
    def __init__(self, channels, height, width, classes, hidden=256):
        super().__init__()
        self.fc1 = nn.Linear(channels * height * width, hidden, bias=False)
        self.bn1 = nn.BatchNorm1d(hidden)
        self.fc2 = nn.Linear(hidden, hidden, bias=False)
        self.bn2 = nn.BatchNorm1d(hidden)
        self.fc3 = nn.Linear(hidden, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.fc1(x.flatten(1))))
        return self.fc3(F.relu(self.bn2(self.fc2(x))))


class CNN(nn.Module):
    def __init__(self, channels, height, width, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc1 = nn.Linear(64 * (height // 4) * (width // 4), 128)
        self.fc2 = nn.Linear(128, classes)

    def forward(self, x):
        x = F.relu(F.max_pool2d(self.conv1(x), 2))  # = max_pool(relu(conv(x)))
        x = F.relu(F.max_pool2d(self.conv2(x), 2))
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


class CNNBN(nn.Module):
    """cnn-bn: BatchNorm after each conv and the hidden linear layer, which have no bias."""
    def __init__(self, channels, height, width, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, 32, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.fc1 = nn.Linear(64 * (height // 4) * (width // 4), 128, bias=False)
        self.bn3 = nn.BatchNorm1d(128)
        self.fc2 = nn.Linear(128, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        return self.fc2(F.relu(self.bn3(self.fc1(x.flatten(1)))))


# --- He et al. 2016, section 4.2: ResNets for CIFAR (depth 6n+2, option A shortcuts) ---------

class BlockA(nn.Module):
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.stride, self.pad = stride, (planes - in_planes) // 2
        self.project = stride != 1 or in_planes != planes

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if self.project:  # option A: subsample, zero-pad the new channels
            x = F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, self.pad, self.pad))
        return F.relu(out + x)


class CifarResNet(nn.Module):
    def __init__(self, depth, num_classes=10, in_channels=3):
        super().__init__()
        n = (depth - 2) // 6
        self.conv1 = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        in_planes = 16
        for stage, planes in enumerate([16, 32, 64]):
            blocks = []
            for b in range(n):
                blocks.append(BlockA(in_planes, planes, 2 if stage > 0 and b == 0 else 1))
                in_planes = planes
            setattr(self, f'layer{stage + 1}', nn.Sequential(*blocks))
        self.linear = nn.Linear(64, num_classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


# --- kuangliu/pytorch-cifar: ResNet ----------------------------------------------------------

class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1,
                               bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != self.expansion * planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, self.expansion * planes, kernel_size=1, stride=stride,
                          bias=False),
                nn.BatchNorm2d(self.expansion * planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return F.relu(out)


class ResNet(nn.Module):
    def __init__(self, block, num_blocks, num_classes=10, in_channels=3):
        super().__init__()
        self.in_planes = 64
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = self._make_layer(block, 64, num_blocks[0], stride=1)
        self.layer2 = self._make_layer(block, 128, num_blocks[1], stride=2)
        self.layer3 = self._make_layer(block, 256, num_blocks[2], stride=2)
        self.layer4 = self._make_layer(block, 512, num_blocks[3], stride=2)
        self.linear = nn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block, planes, num_blocks, stride):
        layers = []
        for s in [stride] + [1] * (num_blocks - 1):
            layers.append(block(self.in_planes, planes, s))
            self.in_planes = planes * block.expansion
        return nn.Sequential(*layers)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        out = F.adaptive_avg_pool2d(out, 1)  # avg_pool2d(out, 4) on 32x32 inputs
        return self.linear(out.flatten(1))


# --- kuangliu/pytorch-cifar: VGG -------------------------------------------------------------

VGG16_CFG = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M',
             512, 512, 512, 'M']


class VGG(nn.Module):
    def __init__(self, cfg, num_classes=10, in_channels=3):
        super().__init__()
        layers = []
        for x in cfg:
            if x == 'M':
                layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
            else:
                layers += [nn.Conv2d(in_channels, x, kernel_size=3, padding=1),
                           nn.BatchNorm2d(x), nn.ReLU(inplace=True)]
                in_channels = x
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(512, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


# --- kuangliu/pytorch-cifar: DenseNet --------------------------------------------------------

class Bottleneck(nn.Module):
    def __init__(self, in_planes, growth_rate):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, 4 * growth_rate, kernel_size=1, bias=False)
        self.bn2 = nn.BatchNorm2d(4 * growth_rate)
        self.conv2 = nn.Conv2d(4 * growth_rate, growth_rate, kernel_size=3, padding=1,
                               bias=False)

    def forward(self, x):
        out = self.conv1(F.relu(self.bn1(x)))
        out = self.conv2(F.relu(self.bn2(out)))
        return torch.cat([out, x], 1)


class Transition(nn.Module):
    def __init__(self, in_planes, out_planes):
        super().__init__()
        self.bn = nn.BatchNorm2d(in_planes)
        self.conv = nn.Conv2d(in_planes, out_planes, kernel_size=1, bias=False)

    def forward(self, x):
        return F.avg_pool2d(self.conv(F.relu(self.bn(x))), 2)


class DenseNet(nn.Module):
    def __init__(self, nblocks, growth_rate=12, reduction=0.5, num_classes=10, in_channels=3):
        super().__init__()
        num_planes = 2 * growth_rate
        self.conv1 = nn.Conv2d(in_channels, num_planes, kernel_size=3, padding=1, bias=False)
        stages = []
        for i, n in enumerate(nblocks):
            layers = []
            for _ in range(n):
                layers.append(Bottleneck(num_planes, growth_rate))
                num_planes += growth_rate
            stages.append(nn.Sequential(*layers))
            if i + 1 < len(nblocks):
                out_planes = int(math.floor(num_planes * reduction))
                stages.append(Transition(num_planes, out_planes))
                num_planes = out_planes
        self.stages = nn.Sequential(*stages)
        self.bn = nn.BatchNorm2d(num_planes)
        self.linear = nn.Linear(num_planes, num_classes)

    def forward(self, x):
        out = self.stages(self.conv1(x))
        out = F.adaptive_avg_pool2d(F.relu(self.bn(out)), 1)  # avg_pool2d(out, 4) on 32x32
        return self.linear(out.flatten(1))


# --- kuangliu/pytorch-cifar: GoogLeNet -------------------------------------------------------

def conv_bn_relu(cin, cout, k):
    return [nn.Conv2d(cin, cout, kernel_size=k, padding=k // 2), nn.BatchNorm2d(cout),
            nn.ReLU(True)]


class Inception(nn.Module):
    def __init__(self, in_planes, n1x1, n3x3red, n3x3, n5x5red, n5x5, pool_planes):
        super().__init__()
        self.b1 = nn.Sequential(*conv_bn_relu(in_planes, n1x1, 1))
        self.b2 = nn.Sequential(*conv_bn_relu(in_planes, n3x3red, 1),
                                *conv_bn_relu(n3x3red, n3x3, 3))
        self.b3 = nn.Sequential(*conv_bn_relu(in_planes, n5x5red, 1),
                                *conv_bn_relu(n5x5red, n5x5, 3), *conv_bn_relu(n5x5, n5x5, 3))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),
                                *conv_bn_relu(in_planes, pool_planes, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


class GoogLeNet(nn.Module):
    def __init__(self, num_classes=10, in_channels=3):
        super().__init__()
        self.pre_layers = nn.Sequential(*conv_bn_relu(in_channels, 192, 3))
        self.a3 = Inception(192, 64, 96, 128, 16, 32, 32)
        self.b3 = Inception(256, 128, 128, 192, 32, 96, 64)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.a4 = Inception(480, 192, 96, 208, 16, 48, 64)
        self.b4 = Inception(512, 160, 112, 224, 24, 64, 64)
        self.c4 = Inception(512, 128, 128, 256, 24, 64, 64)
        self.d4 = Inception(512, 112, 144, 288, 32, 64, 64)
        self.e4 = Inception(528, 256, 160, 320, 32, 128, 128)
        self.a5 = Inception(832, 256, 160, 320, 32, 128, 128)
        self.b5 = Inception(832, 384, 192, 384, 48, 128, 128)
        self.linear = nn.Linear(1024, num_classes)

    def forward(self, x):
        out = self.b3(self.a3(self.pre_layers(x)))
        out = self.maxpool(out)
        out = self.e4(self.d4(self.c4(self.b4(self.a4(out)))))
        out = self.maxpool(out)
        out = self.b5(self.a5(out))
        out = F.adaptive_avg_pool2d(out, 1)  # AvgPool2d(8) on 32x32 inputs
        return self.linear(out.flatten(1))


# --- counting --------------------------------------------------------------------------------

def counts(model):
    """(trainable elements, trainable tensors, no-decay elements)."""
    elements = tensors = no_decay = 0
    for module in model.modules():
        is_norm = 'Norm' in type(module).__name__
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad:
                continue
            elements += p.numel()
            tensors += 1
            if name == 'bias' or is_norm:
                no_decay += p.numel()
    return elements, tensors, no_decay


def golden_fill(model, batch, shape):
    """Parameter k (module order), element i of its flattened values:
    v = sin(0.37 k + 0.91 i + 1e-5 i^2), divided by sqrt(fan-in) for weights with 2+
    dimensions, 0.5 v for 1-D ones. Image element j of the flattened [batch, C, H, W]:
    sin(0.61 j + 1.3e-3 j^2). Computed in float64, rounded to float32, as
    tests/models_test.cpp does."""
    with torch.no_grad():
        for k, p in enumerate(model.parameters()):
            i = torch.arange(p.numel(), dtype=torch.float64)
            values = torch.sin(0.37 * k + 0.91 * i + 1e-5 * i * i)
            if p.dim() >= 2:
                values = values / math.sqrt(p.numel() // p.shape[0])
            else:
                values = 0.5 * values
            p.copy_(values.reshape(p.shape).float())
    j = torch.arange(batch * math.prod(shape), dtype=torch.float64)
    return torch.sin(0.61 * j + 1.3e-3 * j * j).reshape(batch, *shape).float()


CASES = [
    ('mlp', (1, 28, 28), 10, lambda c, k: MLP(c, 28, 28, k)),
    ('cnn', (1, 28, 28), 10, lambda c, k: CNN(c, 28, 28, k)),
    ('resnet18', (3, 32, 32), 10, lambda c, k: ResNet(BasicBlock, [2, 2, 2, 2], k, c)),
    ('resnet34', (3, 32, 32), 10, lambda c, k: ResNet(BasicBlock, [3, 4, 6, 3], k, c)),
    ('vgg16', (3, 32, 32), 10, lambda c, k: VGG(VGG16_CFG, k, c)),
    ('densenet121', (3, 32, 32), 10, lambda c, k: DenseNet([6, 12, 24, 16], 32, 0.5, k, c)),
    ('googlenet', (3, 32, 32), 10, lambda c, k: GoogLeNet(k, c)),
    ('mlp-bn', (1, 28, 28), 10, lambda c, k: MLPBN(c, 28, 28, k)),
    ('cnn-bn', (1, 28, 28), 10, lambda c, k: CNNBN(c, 28, 28, k)),
] + [(f'resnet{d}', (3, 32, 32), 10, lambda c, k, d=d: CifarResNet(d, k, c))
     for d in (8, 14, 20, 32, 44, 56)]


def print_counts():
    print(f"{'model':<12} {'input':<8} {'classes':>7} {'parameters':>12} {'tensors':>8} "
          f"{'no-decay':>9}")
    for name, shape, classes, build in CASES:
        torch.manual_seed(0)
        model = build(shape[0], classes).eval()
        elements, tensors, no_decay = counts(model)
        with torch.no_grad():
            out = model(torch.randn(2, *shape))
        assert tuple(out.shape) == (2, classes), (name, out.shape)
        size = 'x'.join(str(s) for s in shape)
        print(f"{name:<12} {size:<8} {classes:>7} {elements:>12,} {tensors:>8} {no_decay:>9,}")


def print_golden(batch=2):
    models = []
    for name, shape, classes, build in CASES:
        model = build(shape[0], classes)
        images = golden_fill(model, batch, shape)
        with torch.no_grad():
            train_logits = model.train()(images)  # batch statistics; updates running stats
            eval_logits = model.eval()(images)    # the running statistics just updated
        models.append({'name': name, 'images': [batch, *shape], 'classes': classes,
                       'train_logits': train_logits.double().tolist(),
                       'eval_logits': eval_logits.double().tolist()})
    note = ('Generated by scripts/model_param_counts.py --golden (PyTorch ' +
            torch.__version__ + '): logits of the reference models for golden_fill parameters '
            'and images, in train mode, then in eval mode.')
    json.dump({'note': note, 'models': models}, sys.stdout, indent=1)
    print()


if __name__ == '__main__':
    print_golden() if '--golden' in sys.argv[1:] else print_counts()

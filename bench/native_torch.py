"""PyTorch's side of bench/native.ts: trains the same model (same shapes, batch size, SGD with
momentum and weight decay, one thread) on one fixed random batch and prints one JSON line with the
median step time. Run by bench/native.ts with OPENBLAS_NUM_THREADS=1 and the same
OPENBLAS_CORETYPE as the native kernels, so PyTorch is measured at its best on one core."""
import argparse
import json
import sys
import time

import torch
import torch.nn as nn


def lenet_300_100(channels, size, classes):
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(channels * size * size, 300), nn.ReLU(),
        nn.Linear(300, 100), nn.ReLU(),
        nn.Linear(100, classes),
    )


def conv_n(convolutions, batch_norm, channels, size, classes):
    layers, c = [], channels
    for block in range(convolutions // 2):
        out = (64, 128, 256)[block]
        for _ in range(2):
            if batch_norm:
                layers += [nn.Conv2d(c, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), nn.ReLU()]
            else:
                layers += [nn.Conv2d(c, out, 3, padding=1), nn.ReLU()]
            c = out
        layers.append(nn.MaxPool2d(2))
        size //= 2
    return nn.Sequential(
        *layers, nn.Flatten(),
        nn.Linear(c * size * size, 256), nn.ReLU(),
        nn.Linear(256, 256), nn.ReLU(),
        nn.Linear(256, classes),
    )


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return torch.relu(y + self.shortcut(x))


class ResNet20(nn.Module):
    def __init__(self, channels, classes):
        super().__init__()
        self.conv = nn.Conv2d(channels, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        blocks, c = [], 16
        for stage, out in enumerate((16, 32, 64)):
            for block in range(3):
                blocks.append(BasicBlock(c, out, 2 if stage > 0 and block == 0 else 1))
                c = out
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, classes)

    def forward(self, x):
        x = self.blocks(torch.relu(self.bn(self.conv(x))))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def build(name, batch_norm, channels, size, classes):
    if name == "lenet-300-100":
        return lenet_300_100(channels, size, classes)
    if name in ("conv-2", "conv-4", "conv-6"):
        return conv_n(int(name[-1]), batch_norm, channels, size, classes)
    if name == "resnet-20":
        return ResNet20(channels, classes)
    raise SystemExit(f"native_torch.py: unknown model {name!r}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--batch-norm", action="store_true")
    parser.add_argument("--size", type=int, default=28)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    model = build(args.model, args.batch_norm, args.channels, args.size, args.classes)
    model.train()
    optimiser = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(args.batch, args.channels, args.size, args.size)
    y = torch.randint(0, args.classes, (args.batch,))

    def step():
        optimiser.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimiser.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    times = []
    started = time.perf_counter()
    while time.perf_counter() - started < args.seconds or len(times) < 3:
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    times.sort()
    median = times[len(times) // 2]
    print(json.dumps({
        "model": args.model,
        "steps": len(times),
        "medianStepSeconds": median,
        "examplesPerSecond": args.batch / median,
        "bestExamplesPerSecond": args.batch / times[0],
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(),
    }))


if __name__ == "__main__":
    sys.exit(main())

"""PyTorch's side of bench/jobs.ts: the fast protocol's IMP job (configs/fmnist-lenet-imp-fast.json)
as swamp runs it, on one thread: LeNet-300-100 on the first 20,000 Fashion-MNIST training images
(normalised by their own mean and standard deviation), batch 128, SGD with momentum 0.9 and
coupled weight decay 1e-4; one rewinding epoch at the peak learning rate 0.1; then 26 cycles of 5
epochs with a cosine decay per step, each evaluated on the 10,000 test images, followed by global
magnitude pruning of 20% of the remaining kernel weights and a rewind to the saved weights, the
mask kept by multiplying weights and momentum after every step (as swamp's masked SGD does).
Prints one JSON line: wall seconds from start (after imports) to the end, and per-cycle accuracy."""
import argparse
import gzip
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(directory, train_subset):
    train_x = read_idx(f"{directory}/train-images-idx3-ubyte.gz")[:train_subset].astype(np.float32) / 255
    train_y = read_idx(f"{directory}/train-labels-idx1-ubyte.gz")[:train_subset].astype(np.int64)
    test_x = read_idx(f"{directory}/t10k-images-idx3-ubyte.gz").astype(np.float32) / 255
    test_y = read_idx(f"{directory}/t10k-labels-idx1-ubyte.gz").astype(np.int64)
    mean, std = train_x.mean(), train_x.std()
    norm = lambda x: torch.from_numpy(((x - mean) / std).reshape(len(x), -1).copy())
    return norm(train_x), torch.from_numpy(train_y), norm(test_x), torch.from_numpy(test_y)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--train-subset", type=int, default=20000)
    parser.add_argument("--cycles", type=int, default=26)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--rewind-epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--rate", type=float, default=0.2)
    args = parser.parse_args()

    started = time.perf_counter()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    train_x, train_y, test_x, test_y = load(args.data, args.train_subset)
    model = nn.Sequential(nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10))
    kernels = [model[0].weight, model[2].weight, model[4].weight]
    masks = [torch.ones_like(k) for k in kernels]
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    steps_per_epoch = math.ceil(len(train_x) / args.batch)

    def train(epochs, learning_rate):
        optimiser = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=1e-4)
        total = epochs * steps_per_epoch
        step = 0
        for _ in range(epochs):
            order = torch.randperm(len(train_x), generator=generator)
            for start in range(0, len(train_x), args.batch):
                for group in optimiser.param_groups:
                    group["lr"] = learning_rate(step / steps_per_epoch)
                batch = order[start:start + args.batch]
                optimiser.zero_grad(set_to_none=True)
                loss_fn(model(train_x[batch]), train_y[batch]).backward()
                optimiser.step()
                with torch.no_grad():
                    for kernel, mask in zip(kernels, masks):
                        kernel.mul_(mask)
                        optimiser.state[kernel]["momentum_buffer"].mul_(mask)
                step += 1
        assert step == total

    def evaluate():
        model.eval()
        with torch.no_grad():
            correct = sum((model(test_x[i:i + 1000]).argmax(1) == test_y[i:i + 1000]).sum().item() for i in range(0, len(test_x), 1000))
        model.train()
        return correct / len(test_x)

    train(args.rewind_epochs, lambda progress: args.lr)
    rewind = {name: value.clone() for name, value in model.state_dict().items()}
    cycles = []
    for cycle in range(args.cycles):
        cycle_started = time.perf_counter()
        model.load_state_dict(rewind)
        with torch.no_grad():
            for kernel, mask in zip(kernels, masks):
                kernel.mul_(mask)
        train(args.epochs, lambda progress: 0.5 * args.lr * (1 + math.cos(math.pi * min(1.0, progress / args.epochs))))
        accuracy = evaluate()
        kept = sum(int(m.sum().item()) for m in masks)
        cycles.append({"cycle": cycle, "kept": kept, "accuracy": accuracy, "seconds": time.perf_counter() - cycle_started})
        if cycle + 1 < args.cycles:
            with torch.no_grad():
                alive = torch.cat([k.abs()[m.bool()] for k, m in zip(kernels, masks)])
                prune = int(round(args.rate * alive.numel()))
                threshold = alive.kthvalue(prune).values if prune > 0 else -1.0
                for kernel, mask in zip(kernels, masks):
                    mask.mul_((kernel.abs() > threshold).float())
    print(json.dumps({"framework": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(), "seconds": time.perf_counter() - started, "cycles": cycles}))


if __name__ == "__main__":
    sys.exit(main())

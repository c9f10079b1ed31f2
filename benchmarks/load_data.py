"""How long loading the bundled datasets takes (checksums, decompression, decoding).

Run:      python benchmarks/load_data.py
Expected: a few tenths of a second for each set on a laptop-class CPU.
"""
import statistics
import time

from common import data

REPEATS = 5


def time_loader(loader) -> list:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        loader()
        times.append(time.perf_counter() - start)
    return times


def main():
    for name, loader in (("MNIST", data.load_mnist), ("Fashion-MNIST", data.load_fashion_mnist)):
        times = time_loader(loader)
        print(f"{name:14s} median {statistics.median(times):.3f} s, best {min(times):.3f} s "
              f"over {REPEATS} loads")


if __name__ == "__main__":
    main()

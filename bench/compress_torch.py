#!/usr/bin/env python3
"""Reference timing for the `compression` bench suite: torch's SVD of the same 32 SD1.x K/V deltas.

Run after the Swift suite wrote the deltas (from the package root):
  swift build -c release --scratch-path .build-cd --product concepts-bench
  .build-cd/release/concepts-bench compression
  python3 bench/compress_torch.py
(torch 2.15.) Prints JSON: seconds for torch.linalg.svd of all 32 (what the original compress.py does per
layer, full_matrices=True), for the thin SVD (full_matrices=False), and for svdvals only; median of 3,
with torch's default thread count on this machine; plus energy-0.6 ranks/bytes for comparison.
"""
import json, pathlib, statistics, time

import torch
from safetensors.torch import load_file

path = pathlib.Path(__file__).resolve().parent / "out" / "compression-deltas.safetensors"
deltas = [v for _, v in sorted(load_file(str(path)).items())]


def median_seconds(fn, runs=3):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def energy_rank(s, ratio=0.6):
    explain, total = 0, s.sum()
    for i, t in enumerate(s):
        explain += t / total
        if explain > ratio:
            return i
    return len(s)


ranks = [energy_rank(torch.linalg.svdvals(d)) for d in deltas]
print(json.dumps({
    "threads": torch.get_num_threads(),
    "matrices": len(deltas),
    "svd_full_matrices_seconds": median_seconds(lambda: [torch.linalg.svd(d) for d in deltas]),
    "svd_thin_seconds": median_seconds(lambda: [torch.linalg.svd(d, full_matrices=False) for d in deltas]),
    "svdvals_seconds": median_seconds(lambda: [torch.linalg.svdvals(d) for d in deltas]),
    "energy_0.6_mean_rank_original_rule": sum(ranks) / len(ranks),
    "energy_0.6_fp16_bytes": sum(2 * r * (d.shape[0] + d.shape[1]) for r, d in zip(ranks, deltas)),
}, indent=2))

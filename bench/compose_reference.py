#!/usr/bin/env python3
"""Reference timing for the `compose` benchmark (issue 6): the paper's multi-concept merge (§3.2) AS THE ORIGINAL
CODE COMPUTES IT, on SD1.x shapes with seeded random data, PyTorch + SciPy on the CPU with 2 threads.

Run from the package root:
    python3 bench/compose_reference.py
(torch 2.15, scipy, numpy.) Prints one JSON line:
    {"reference_whole_process_s": …, "reference_solve_s": …, "layers": 16, "targets": s, …}

The algorithm is a line-by-line port of adobe-research/custom-diffusion, src/composenW.py (commit 31aa283f70ae),
functions `compose` and `gdupdateWexact`, with `device='cuda'` replaced by the CPU (the data never leaves float32, as
there):
  - regularization features `uc` (r × 768) and each concept's target features `uc_targets` (two prompts per concept);
    per layer the concept's target values `(W′ @ uc_targets.T).T`;
  - duplicate target rows removed by the original's O(s²) pairwise loop `(uc_targets[i]-uc_targets[j]).abs().mean()
    == 0`, then the rows re-stacked for the targets and for every layer's values;
  - PER LAYER AND PROJECTION (16 × {to_k, to_v} = 32 times): `values = (W0 @ uc.T).T`; gdupdateWexact: C = Kᵀ K (768 × 768 float32 Gram of the r
    regularization rows, rebuilt for every layer), scipy `lu_factor` of it, one `lu_solve` per target row, d = the
    stacked solutions (s × 768), e2 = d Ktargetᵀ (s × s), e1 = Vtargetᵀ − W Ktargetᵀ, delta = e1 · torch.linalg.inv(e2),
    Wnew = W + delta d, and its diagnostic loss over [targets; regularization rows] (printed by the original; here to
    stderr).
Text encoding and checkpoint loading of the original are replaced by generating the same-shaped data (they are
not part of the merge); the data generation is included in the whole-process time, like loading would be.

Data (seed 20240607): 16 layers, h = 320×5, 640×5, 1280×6 in SD1's layer order, d = 768. Regularization features:
200 captions × 8…16 tokens (2,375 rows with this seed), correlated like text features: G·diag(σ)·Qᵀ + a shared mean
row, G Gaussian, Q a random rotation, σ log-spaced over 3 decades, so cond(Σ) ≈ 3e8 (printed). 2 concepts, prompts "T c" (4 rows: T, c₁, c₂,
EOS) and "a photo of T c" (7 rows): 11 rows each, the three "a photo of" rows identical across concepts (the causal
encoder makes them so) → 22 rows, 19 after dedupe. W0 ~ N(0, 0.02²); W′ = W0 + a rank-4 update.

Times: reference_whole_process_s = from the process's start (kernel start time of this process, /proc/self/stat,
10 ms resolution) to the end, including interpreter start and the torch/scipy imports; reference_solve_s = the
per-layer merge loop alone (values + gdupdateWexact for the 32 K/V weights of the 16 layers); also the target/dedupe stage and the import
time separately; CPU seconds (all threads; less sensitive to a busy machine) and the 1-minute load average.
"""
import os
import sys
import time

T_SCRIPT = time.perf_counter()
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[var] = "2"


def process_age_s():
    """Seconds since this process started (kernel start time), or None when /proc is unavailable."""
    try:
        start_ticks = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19])
        uptime = float(open("/proc/uptime").read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


import json  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from scipy.linalg import lu_factor, lu_solve  # noqa: E402

torch.set_num_threads(2)
T_IMPORTED = time.perf_counter()

SEED = 20240607
D_FEAT = 768
HS = [320, 320, 640, 640, 1280, 1280, 1280, 1280, 1280, 1280, 640, 640, 640, 320, 320, 320]  # SD1 layer order
LAYERS = ([f"down_blocks.{b}.attentions.{a}" for b in range(3) for a in range(2)] + ["mid_block.attentions.0"]
          + [f"up_blocks.{b}.attentions.{a}" for b in range(1, 4) for a in range(3)])
assert len(LAYERS) == 16 and sorted(HS) == sorted([320] * 5 + [640] * 5 + [1280] * 6)


# MARK: - data (stands in for the original's checkpoint loading and text encoding)

def make_data():
    g = torch.Generator().manual_seed(SEED)
    counts = torch.randint(8, 17, (200,), generator=g)
    r = int(counts.sum())
    q, _ = torch.linalg.qr(torch.randn(D_FEAT, D_FEAT, generator=g, dtype=torch.float64))
    sigma = torch.logspace(0, -3.0, D_FEAT, dtype=torch.float64)
    mean = torch.randn(D_FEAT, generator=g, dtype=torch.float64) * 0.5

    def features(n):
        return ((torch.randn(n, D_FEAT, generator=g, dtype=torch.float64) * sigma) @ q.T + mean).float()

    uc = features(r)
    shared = features(3)  # the "a photo of" rows, identical for every concept
    targets = []
    for _ in range(2):
        t, c1, c2, eos1, t2, c1b, c2b, eos2 = features(8)
        targets.append(torch.stack([t, c1, c2, eos1, shared[0], shared[1], shared[2], t2, c1b, c2b, eos2]))
    w0 = {}
    w_concepts = [{}, {}]
    for name, h in zip(LAYERS, HS):
        for proj in ("to_k", "to_v"):
            key = f"{name}.transformer_blocks.0.attn2.{proj}.weight"
            w0[key] = torch.randn(h, D_FEAT, generator=g) * 0.02
            for wc in w_concepts:
                u = torch.randn(h, 4, generator=g) * 0.02
                v = torch.randn(4, D_FEAT, generator=g) * 0.02
                wc[key] = w0[key] + u @ v
    return uc, targets, w0, w_concepts


# MARK: - the original algorithm (adobe-research/custom-diffusion src/composenW.py)

def gdupdateWexact(K, V, Ktarget1, Vtarget1, W):
    """src/composenW.py `gdupdateWexact`, device moves dropped (CPU throughout)."""
    input_ = K
    output = V
    C = input_.T @ input_
    d = []
    lu, piv = lu_factor(C.cpu().numpy())
    for i in range(Ktarget1.size(0)):
        sol = lu_solve((lu, piv), Ktarget1[i].reshape(-1, 1).cpu().numpy())
        d.append(torch.from_numpy(sol).to(K.device))

    d = torch.cat(d, 1).T

    e2 = d @ Ktarget1.T
    e1 = (Vtarget1.T - W @ Ktarget1.T)
    delta = e1 @ torch.linalg.inv(e2)

    Wnew = W + delta @ d
    lambda_split1 = Vtarget1.size(0)

    input_ = torch.cat([Ktarget1.T, K.T], dim=1)
    output = torch.cat([Vtarget1, V], dim=0)

    loss = torch.norm((Wnew @ input_).T - output, 2, dim=1)
    print(loss[:lambda_split1].mean().item(), loss[lambda_split1:].mean().item(), file=sys.stderr)

    return Wnew


def targets_and_values(targets, w_concepts, layers_modified):
    """`compose`: per-concept values, then the pairwise duplicate removal and re-stacking."""
    from collections import defaultdict
    uc_targets = []
    uc_values = defaultdict(list)
    for n, t in enumerate(targets):
        uc_targets.append(t)
        for each in layers_modified:
            uc_values[each].append((w_concepts[n][each] @ uc_targets[-1].T).T)
    uc_targets = torch.cat(uc_targets, 0)

    removal_indices = []
    for i in range(uc_targets.size(0)):
        for j in range(i + 1, uc_targets.size(0)):
            if (uc_targets[i] - uc_targets[j]).abs().mean() == 0:
                removal_indices.append(j)

    removal_indices = list(set(removal_indices))
    uc_targets = torch.stack([uc_targets[i] for i in range(uc_targets.size(0)) if i not in removal_indices], 0)
    for each in layers_modified:
        uc_values[each] = torch.cat(uc_values[each], 0)
        uc_values[each] = torch.stack([uc_values[each][i] for i in range(uc_values[each].size(0))
                                       if i not in removal_indices], 0)
    return uc_targets, uc_values, removal_indices


def merge(uc, uc_targets, uc_values, w0, layers_modified):
    """`compose`'s per-layer loop."""
    new_weights = {}
    for each in layers_modified:
        values = (w0[each] @ uc.T).T
        input_target = uc_targets
        output_target = uc_values[each]
        Wnew = gdupdateWexact(uc[:values.shape[0]], values, input_target, output_target, w0[each].clone())
        new_weights[each] = Wnew
    return new_weights


def main():
    with torch.no_grad():
        t0 = time.perf_counter()
        uc, targets, w0, w_concepts = make_data()
        t1 = time.perf_counter()
        layers_modified = list(w0)
        uc_targets, uc_values, removed = targets_and_values(targets, w_concepts, layers_modified)
        t2 = time.perf_counter()
        c2 = time.process_time()
        new_weights = merge(uc, uc_targets, uc_values, w0, layers_modified)
        t3 = time.perf_counter()
        c3 = time.process_time()
    cpu_whole = sum(os.times()[:2])
    age = process_age_s()
    whole = age if age is not None else (time.perf_counter() - T_SCRIPT)

    # Diagnostics after the clock stopped: the data's conditioning and the constraint residual of the float32 merge.
    uc64 = uc.double()
    ev = torch.linalg.eigvalsh(uc64.T @ uc64)
    resid = max(float(((new_weights[k] @ uc_targets.T).T - uc_values[k]).abs().max() / uc_values[k].abs().max())
                for k in layers_modified)
    print(json.dumps({
        "reference_whole_process_s": round(whole, 4),
        "reference_solve_s": round(t3 - t2, 4),
        "layers": len(layers_modified) // 2,
        "targets": int(uc_targets.shape[0]),
        "targets_before_dedupe": sum(int(t.shape[0]) for t in targets),
        "removed_rows": sorted(removed),
        "regularization_rows": int(uc.shape[0]),
        "cond_sigma": float(ev[-1] / ev[0]),
        "reference_solve_cpu_s": round(c3 - c2, 4),
        "whole_process_cpu_s": round(cpu_whole, 4),
        "load_average_1min": os.getloadavg()[0],
        "imports_s": round(T_IMPORTED - T_SCRIPT, 4),
        "data_s": round(t1 - t0, 4),
        "targets_dedupe_s": round(t2 - t1, 4),
        "max_rel_constraint_residual_float32": resid,
        "threads": torch.get_num_threads(),
        "source": "adobe-research/custom-diffusion src/composenW.py (compose, gdupdateWexact) on CPU",
    }))


if __name__ == "__main__":
    main()

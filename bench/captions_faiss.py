#!/usr/bin/env python3
# faiss-cpu exact inner-product search (IndexFlatIP) on the data of the `captions` bench suite, for comparison.
#
# Run after `concepts-bench captions` (which writes bench/out/captions/captions-N.npy and captions-N-queries.npy):
#   pip install faiss-cpu && python3 bench/captions_faiss.py [N …]        (default: 100000 1000000)
# Prints one JSON object: per N, the median and max search time (ms) for top-200 over the 20 queries, 2 threads,
# and the add time. Vectors are the stored fp16 values widened to fp32 and L2-normalised (cosine = inner product).
import json, os, sys, time

import faiss
import numpy as np

faiss.omp_set_num_threads(2)
out = {}
for n in [int(a) for a in sys.argv[1:]] or [100000, 1000000]:
    base = os.path.join("bench", "out", "captions", f"captions-{n}")
    x = np.load(base + ".npy", mmap_mode="r").astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = np.load(base + "-queries.npy").astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    t = time.perf_counter(); index = faiss.IndexFlatIP(x.shape[1]); index.add(x); add = time.perf_counter() - t
    times = []
    for row in q:
        t = time.perf_counter(); index.search(row[None, :], 200); times.append((time.perf_counter() - t) * 1000)
    times.sort()
    out[str(n)] = {"faiss_IndexFlatIP_search_ms_median": times[len(times) // 2], "search_ms_max": times[-1], "add_seconds": add}
print(json.dumps(out, indent=1, sort_keys=True))

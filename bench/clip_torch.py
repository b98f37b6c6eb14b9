#!/usr/bin/env python3
# PyTorch CPU reference timing for the TextEncoder bench (ViT-L/14 text tower shapes, random weights).
#   python3 bench/clip_torch.py            # 2 threads, prints JSON
# Same workloads as `concepts-bench textEncoder`: captions of 10–20 tokens (seeded lengths) one at a time and in
# padded batches of 16, and 77-token captions one at a time and in batches of 4. Float32, inference mode.
import json, random, time

import torch
from transformers import CLIPTextConfig, CLIPTextModel

torch.set_num_threads(2)
torch.manual_seed(0)
cfg = CLIPTextConfig(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                     num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu", projection_dim=768)
model = CLIPTextModel(cfg).eval()
rng = random.Random(0)


def caption(n):
    return [49406] + [rng.randrange(1, 49000) for _ in range(n - 2)] + [49407]


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def time_batches(batches, runs=3):
    """Median over runs of seconds per caption; each batch padded to its longest caption (SD pipelines pad)."""
    per_run = []
    for _ in range(runs):
        start = time.perf_counter()
        count = 0
        for batch in batches:
            n = max(len(c) for c in batch)
            ids = torch.tensor([c + [49407] * (n - len(c)) for c in batch])
            with torch.inference_mode():
                model(ids)
            count += len(batch)
        per_run.append((time.perf_counter() - start) / count)
    return median(per_run)


short = [caption(rng.randint(10, 20)) for _ in range(32)]
full = [caption(77) for _ in range(8)]
with torch.inference_mode():  # warm-up
    model(torch.tensor([full[0]]))
result = {
    "threads": torch.get_num_threads(),
    "torch": torch.__version__,
    "short_captions_mean_tokens": sum(map(len, short)) / len(short),
    "ms_per_caption_short_batch1": 1e3 * time_batches([[c] for c in short]),
    "ms_per_caption_short_batch16": 1e3 * time_batches([short[i:i + 16] for i in range(0, 32, 16)]),
    "ms_per_caption_77_batch1": 1e3 * time_batches([[c] for c in full]),
    "ms_per_caption_77_batch4": 1e3 * time_batches([full[i:i + 4] for i in range(0, 8, 4)]),
}
print(json.dumps(result, indent=1))

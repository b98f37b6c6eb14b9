#!/usr/bin/env python3
"""Inputs of the `registry` and `compose` bench suites (issues 3 §10 and 6 §8): SD1.x-sized, seeded, under bench/out/
(git-ignored, never committed).

Run from the package root (torch 2.15, safetensors 0.8, transformers 5, diffusers 0.42, numpy):
    python3 bench/generate_sd1_bench.py
Idempotent: every output that already exists is skipped (delete it to regenerate). About 2 minutes and 3.4 GB of
disk the first time (UNet 1.7 GB, text encoder 246 MB, 10 concepts × 77 MB).

Writes:
  bench/out/sd1-base/            a diffusers pipeline folder shaped like Stable Diffusion 1.x (random init, seed 1):
    vae/diffusion_pytorch_model.safetensors         AutoencoderKL with SD 1.x's config (block_out_channels 128, 256,
                                                    512, 512; 83.7 M parameters; scaling_factor 0.18215), Float32
                                                    (335 MB), random init (seed 3), for the `generation` suite
    scheduler/scheduler_config.json                 SD 1.5's PNDM scheduler config (scaled_linear 0.00085…0.012,
                                                    steps_offset 1, leading spacing, epsilon)
    unet/diffusion_pytorch_model.fp16.safetensors   UNet2DConditionModel with SD1's config (block_out_channels
                                                    320, 640, 1280, 1280; cross_attention_dim 768; 859.5 M
                                                    parameters), saved as the fp16 variant (1.7 GB)
    text_encoder/model.fp16.safetensors             CLIPTextModel, CLIP ViT-L/14's text tower (hidden 768, 12 layers,
                                                    12 heads, vocab 49408, quick_gelu; 123 M parameters), fp16 variant
    tokenizer/                                      the REAL CLIP vocabulary: vocab.json (49408 = 256 byte tokens +
                                                    256 `</w>` byte tokens + 48894 merges + 2 specials) and merges.txt,
                                                    built from fixtures/clip/merges.txt the way CLIP builds it
    model_index.json
  bench/out/sd1-concepts/<name>/ 10 Custom Diffusion outputs in the diffusers trainer format, each 77 MB fp32:
    pytorch_custom_diffusion_weights.safetensors    `<layer>.processor.to_{k,v}_custom_diffusion.weight` = the full
                                                    W′ = W0 + ΔW for SD1's 16 cross-attention layers (32 matrices)
    <new1>.safetensors                              {"<new1>": 768-d embedding}
    All use the token <new1>. Names and categories: dog, cat (the two of the issue), then car, chair, guitar, teapot,
    backpack, sunglasses, teddybear, barn (the eight more for "compose of 10 concepts"; same format and sizes).
  bench/out/sd1-concepts/dog-deltas.safetensors  ΔW = W′ − W0 of `dog` as the registry computes it (W0 = the fp16
                                                    base widened to fp32), under names like the compression suite's, so
                                                    bench/compress_torch.py can time torch's SVD on the very same
                                                    matrices (the registry suite does this)
  bench/out/regset.txt           200 varied generic captions from templates (seeded)

ΔW of every matrix (h × 768): ΔW = U·diag(σ)·Vᵀ with U, V random orthonormal (QR of Gaussians): 4–8 strong directions
(σ_i ∝ 1/(i+1)) plus a full-rank tail decaying like exp(−i/30) whose energy is ~1.5 % of the strong part, scaled so
that ‖ΔW‖_F/‖W0‖_F is uniform in [0.02, 0.05] (the registry's plausibility check refuses ratios above 0.5).
Embedding: the base embedding row of the category word plus Gaussian noise of std 0.01 (trained embeddings start
from the category word's row).
"""
import json
import pathlib
import random
import sys

import torch
from safetensors.torch import load_file, save_file

ROOT = pathlib.Path(__file__).resolve().parent
OUT = ROOT / "out"
BASE = OUT / "sd1-base"
CONCEPTS = OUT / "sd1-concepts"
REGSET = OUT / "regset.txt"
MERGES_FILE = ROOT.parent / "fixtures" / "clip" / "merges.txt"
SEED = 1
CONCEPT_LIST = [("dog", "dog"), ("cat", "cat"), ("car", "car"), ("chair", "chair"), ("guitar", "guitar"),
                ("teapot", "teapot"), ("backpack", "backpack"), ("sunglasses", "sunglasses"),
                ("teddybear", "teddybear"), ("barn", "barn")]
TOKEN = "<new1>"


def log(message):
    print(message, file=sys.stderr, flush=True)


# MARK: - tokenizer (CLIP's vocabulary construction, as fixtures/generate_sd_tiny.py, with all merges)

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "fixtures"))
import generate_sd_tiny  # noqa: E402  (one copy of CLIP's vocabulary construction)


def write_tokenizer(directory):
    lines = MERGES_FILE.read_text("utf-8").split("\n")
    if lines[0].startswith("#"):
        lines = lines[1:]
    # CLIP keeps the first 49152 − 256 − 2 merges (simple_tokenizer.py: merges[1:49152-256-2+1] of the gz).
    merges = [tuple(l.split()) for l in lines if l.strip()][: 49152 - 256 - 2]
    size = generate_sd_tiny.write_tokenizer(directory, merges)
    assert size == 49408, size


# MARK: - base

def write_base():
    BASE.mkdir(parents=True, exist_ok=True)
    if not (BASE / "tokenizer" / "vocab.json").exists():
        log("tokenizer…")
        write_tokenizer(BASE / "tokenizer")
        from transformers import CLIPTokenizer
        tok = CLIPTokenizer.from_pretrained(str(BASE / "tokenizer"))
        ids = tok("a photo of a dog")["input_ids"]
        assert ids[0] == 49406 and ids[-1] == 49407 and len(ids) == 7, ids
    if not (BASE / "unet" / "diffusion_pytorch_model.fp16.safetensors").exists():
        from diffusers import UNet2DConditionModel
        log("unet (859.5 M parameters, random init)…")
        torch.manual_seed(SEED)
        with torch.no_grad():
            unet = UNet2DConditionModel(
                sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
                block_out_channels=(320, 640, 1280, 1280), attention_head_dim=8, cross_attention_dim=768,
                down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3, norm_num_groups=32)
            unet = unet.half()
        unet.save_pretrained(str(BASE / "unet"), safe_serialization=True, variant="fp16")
        del unet
    if not (BASE / "text_encoder" / "model.fp16.safetensors").exists():
        from transformers import CLIPTextConfig, CLIPTextModel
        log("text encoder (CLIP ViT-L/14 text tower, random init)…")
        torch.manual_seed(SEED + 1)
        config = CLIPTextConfig(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                num_attention_heads=12, max_position_embeddings=77, projection_dim=768,
                                hidden_act="quick_gelu", bos_token_id=49406, eos_token_id=49407, pad_token_id=1)
        with torch.no_grad():
            model = CLIPTextModel(config).half()
        model.save_pretrained(str(BASE / "text_encoder"), safe_serialization=True, variant="fp16")
        del model
    if not (BASE / "vae" / "diffusion_pytorch_model.safetensors").exists():
        from diffusers import AutoencoderKL
        log("vae (83.7 M parameters, random init)…")
        torch.manual_seed(SEED + 2)
        with torch.no_grad():
            vae = AutoencoderKL(
                in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
                up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(128, 256, 512, 512), layers_per_block=2,
                act_fn="silu", latent_channels=4, norm_num_groups=32, sample_size=512, scaling_factor=0.18215)
        vae.save_pretrained(str(BASE / "vae"), safe_serialization=True)
        del vae
    if not (BASE / "scheduler" / "scheduler_config.json").exists():
        (BASE / "scheduler").mkdir(parents=True, exist_ok=True)
        (BASE / "scheduler" / "scheduler_config.json").write_text(json.dumps({
            "_class_name": "PNDMScheduler", "_diffusers_version": "0.42.1", "beta_end": 0.012,
            "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": False, "num_train_timesteps": 1000,
            "prediction_type": "epsilon", "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
            "timestep_spacing": "leading", "trained_betas": None}, indent=2))
    index = BASE / "model_index.json"
    if index.exists():  # a folder from before vae/ and scheduler/ existed: name them (idempotent)
        entries = json.loads(index.read_text())
        if entries.get("vae") != ["diffusers", "AutoencoderKL"] or entries.get("scheduler") != ["diffusers", "PNDMScheduler"]:
            entries["vae"] = ["diffusers", "AutoencoderKL"]
            entries["scheduler"] = ["diffusers", "PNDMScheduler"]
            index.write_text(json.dumps(entries, indent=2))
    if not index.exists():
        index.write_text(json.dumps({
            "_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.42.1",
            "unet": ["diffusers", "UNet2DConditionModel"], "text_encoder": ["transformers", "CLIPTextModel"],
            "tokenizer": ["transformers", "CLIPTokenizer"], "scheduler": ["diffusers", "PNDMScheduler"],
            "vae": ["diffusers", "AutoencoderKL"],
            "safety_checker": [None, None], "feature_extractor": [None, None], "requires_safety_checker": False},
            indent=2))


# MARK: - concepts

def base_kv():
    """SD1's 32 cross-attention K/V weights of the base, as the registry widens them (fp16 → fp32), in UNet order."""
    sd = load_file(str(BASE / "unet" / "diffusion_pytorch_model.fp16.safetensors"))
    names = [k for k in sd if ".attn2.to_k.weight" in k or ".attn2.to_v.weight" in k]
    order = lambda k: (["down_blocks", "mid_block", "up_blocks"].index(k.split(".")[0]), k)  # noqa: E731
    kv = {k: sd[k].float() for k in sorted(names, key=order)}
    assert len(kv) == 32, len(kv)
    return kv


def realistic_delta(w0, gen):
    h, d = w0.shape
    k = min(h, d)
    u, _ = torch.linalg.qr(torch.randn(h, k, generator=gen, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(d, k, generator=gen, dtype=torch.float64))
    strong = int(torch.randint(4, 9, (1,), generator=gen))
    i = torch.arange(k, dtype=torch.float64)
    sigma = torch.where(i < strong, 1 / (i + 1), torch.zeros_like(i))
    tail = torch.exp(-i / 30) * (i >= strong)
    tail = tail * (0.015 * (sigma ** 2).sum() / (tail ** 2).sum()).sqrt()
    sigma = sigma + tail
    delta = (u * sigma) @ v.T
    ratio = 0.02 + 0.03 * float(torch.rand(1, generator=gen, dtype=torch.float64))
    return (delta * (ratio * w0.double().norm() / delta.norm())).float()


def write_concepts():
    pending = [(i, name, category) for i, (name, category) in enumerate(CONCEPT_LIST)
               if not (CONCEPTS / name / "pytorch_custom_diffusion_weights.safetensors").exists()]
    deltas_path = CONCEPTS / "dog-deltas.safetensors"
    if not pending and deltas_path.exists():
        return
    kv = base_kv()
    te = load_file(str(BASE / "text_encoder" / "model.fp16.safetensors"))
    # transformers 5 writes CLIPTextModel names without the `text_model.` prefix older versions had.
    embedding = next(v for k, v in te.items() if k.endswith("embeddings.token_embedding.weight")).float()
    vocab = json.loads((BASE / "tokenizer" / "vocab.json").read_text("utf-8"))
    for i, name, category in [(i, n, c) for i, (n, c) in enumerate(CONCEPT_LIST)]:
        directory = CONCEPTS / name
        weights = directory / "pytorch_custom_diffusion_weights.safetensors"
        if weights.exists() and (name != "dog" or deltas_path.exists()):
            continue
        log(f"concept {name}…")
        gen = torch.Generator().manual_seed(1000 + i)
        out, deltas = {}, {}
        for j, (key, w0) in enumerate(kv.items()):
            delta = realistic_delta(w0, gen)
            layer, proj = key[: -len(".to_k.weight")], key.split(".")[-2]
            out[f"{layer}.processor.{proj}_custom_diffusion.weight"] = (w0 + delta).contiguous()
            deltas[f"{j:02d}.{layer}.{proj}"] = ((w0 + delta) - w0).contiguous()
        directory.mkdir(parents=True, exist_ok=True)
        row = vocab.get(category + "</w>", 400 + i)
        emb = embedding[row] + 0.01 * torch.randn(embedding.shape[1], generator=gen)
        save_file({TOKEN: emb.float().contiguous()}, str(directory / f"{TOKEN}.safetensors"), metadata={"format": "pt"})
        save_file(out, str(weights) + ".tmp", metadata={"format": "pt"})
        pathlib.Path(str(weights) + ".tmp").rename(weights)
        if name == "dog":
            save_file(deltas, str(deltas_path))


# MARK: - regularization captions

SUBJECTS = ["a dog", "a cat", "a man", "a woman", "two children", "an old car", "a red bicycle", "a wooden chair",
            "a bowl of fruit", "a mountain lake", "a city street", "a small house", "a group of friends", "a horse",
            "a cup of coffee", "a vintage camera", "a sailing boat", "a bird", "a forest path", "a pizza"]
SETTINGS = ["in the park", "on a sunny beach", "at night", "in the snow", "on a kitchen table", "in a living room",
            "under a cloudy sky", "next to a window", "in the city", "in a field of flowers", "by the river",
            "at sunset", "on a wooden floor", "in the rain", "in front of a brick wall"]
TEMPLATES = ["a photo of {s} {p}", "{s} {p}", "a close-up photo of {s} {p}", "a blurry photo of {s} {p}",
             "an old photograph of {s} {p}", "a painting of {s} {p}", "{s} {p}, high resolution",
             "a picture of {s} {p} taken with a phone", "stock photo: {s} {p}", "{s} sitting {p}"]


def write_regset():
    if REGSET.exists():
        return
    rng = random.Random(SEED)
    captions = set()
    while len(captions) < 200:
        captions.add(rng.choice(TEMPLATES).format(s=rng.choice(SUBJECTS), p=rng.choice(SETTINGS)))
    REGSET.write_text("\n".join(sorted(captions)) + "\n", "utf-8")


def main():
    torch.set_num_threads(2)
    OUT.mkdir(parents=True, exist_ok=True)
    write_base()
    write_concepts()
    write_regset()
    log("done: " + ", ".join(str(p.relative_to(ROOT.parent)) for p in [BASE, CONCEPTS, REGSET]))


if __name__ == "__main__":
    main()

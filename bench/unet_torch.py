#!/usr/bin/env python3
# diffusers reference timing for the `generation` bench suite: the same random-weight SD1-shaped UNet and VAE
# (bench/out/sd1-base, written by bench/generate_sd1_bench.py), on the CPU, Float32 (the fp16 UNet widened: torch
# cannot run fp16 convolutions on the CPU), 2 threads, inference mode.
#   python3 bench/unet_torch.py [--base bench/out/sd1-base] [--sizes 256,512] [--steps 2] [--no-vae]
# Prints one JSON line: seconds per denoising step with guidance (the UNet on batch 2: unconditional + text),
# per size (wall, and process CPU seconds of all threads); seconds of one VAE decode at 512² (latent 64²); peak RSS (ru_maxrss) in MB; torch and diffusers versions.
import argparse, json, pathlib, resource, time

import torch
import diffusers
from diffusers import AutoencoderKL, UNet2DConditionModel

parser = argparse.ArgumentParser()
parser.add_argument("--base", default=str(pathlib.Path(__file__).resolve().parent / "out" / "sd1-base"))
parser.add_argument("--sizes", default="256,512")
parser.add_argument("--steps", type=int, default=2)
parser.add_argument("--no-vae", action="store_true")
args = parser.parse_args()

torch.set_num_threads(2)
torch.manual_seed(0)
unet = UNet2DConditionModel.from_pretrained(args.base, subfolder="unet", variant="fp16", torch_dtype=torch.float32).eval()
out = {"torch": torch.__version__, "diffusers": diffusers.__version__, "threads": torch.get_num_threads()}
with torch.inference_mode():
    for size in [int(s) for s in args.sizes.split(",")]:
        latent = size // 8
        x = torch.randn(1, 4, latent, latent).repeat(2, 1, 1, 1)  # torch.cat([latents] * 2), as the pipelines do
        text = torch.randn(2, 77, 768)
        unet(x, 999, encoder_hidden_states=text)  # warm-up
        times = []
        cpu_before = time.process_time()
        for step in range(args.steps):
            start = time.perf_counter()
            eps = unet(x, 999 - 20 * step, encoder_hidden_states=text).sample
            uncond, cond = eps.chunk(2)
            _ = uncond + 7.5 * (cond - uncond)
            times.append(time.perf_counter() - start)
        out[f"seconds_per_step_{size}"] = sorted(times)[len(times) // 2]
        out[f"cpu_seconds_per_step_{size}"] = (time.process_time() - cpu_before) / args.steps  # all threads
    del unet
    if not args.no_vae:
        vae = AutoencoderKL.from_pretrained(args.base, subfolder="vae", torch_dtype=torch.float32).eval()
        z = torch.randn(1, 4, 64, 64)
        start = time.perf_counter()
        vae.decode(z / vae.config.scaling_factor).sample
        out["vae_decode_seconds_512"] = time.perf_counter() - start
out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))

"""HuggingFace's Wav2Vec2ConformerForCTC, eager PyTorch on CPU, timed as `mha2mla benchmark` times a model folder:
normalised noise (zero mean, unit variance) of each length, batch 1, warm-up passes, then the median and quartiles
of timed forward passes from audio to logits. Prints one line per length and writes a JSON file.

Usage: python hf_forward.py --model DIR --seconds 2,10,30 --threads 1 [--warmup 1] [--repeats 3] [--out FILE]
"""
import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time

import torch
import transformers
from transformers import Wav2Vec2ConformerForCTC

SAMPLING_RATE = 16000


def quartiles(xs):
    q = statistics.quantiles(xs, n=4, method="inclusive") if len(xs) > 1 else [xs[0]] * 3
    return q[0], statistics.median(xs), q[2]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="folder with config.json and model.safetensors or pytorch_model.bin")
    p.add_argument("--seconds", default="2", help="comma-separated audio lengths in seconds")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", help="JSON file to write")
    a = p.parse_args()
    if a.threads < 1 or a.warmup < 0 or a.repeats < 1:
        p.error("--threads and --repeats must be at least 1, --warmup at least 0")
    try:
        seconds = [float(s) for s in a.seconds.split(",")]
    except ValueError:
        p.error(f"--seconds: comma-separated numbers expected, got {a.seconds!r}")
    if any(not 0 < s <= 3600 for s in seconds):
        p.error(f"--seconds: each length must be in (0, 3600] s, got {a.seconds}")
    if not os.path.isfile(os.path.join(a.model, "config.json")):
        p.error(f"--model {a.model}: no config.json there")
    torch.set_num_threads(a.threads)
    # batch 1 never takes NNPACK's path; on CPUs it cannot initialise, its check warns on every convolution
    torch.backends.nnpack.set_flags(False)
    t0 = time.perf_counter()
    model = Wav2Vec2ConformerForCTC.from_pretrained(a.model, torch_dtype=torch.float32).eval()
    load_s = time.perf_counter() - t0
    print(f"{a.model}: loaded in {load_s:.1f} s, torch {torch.__version__}, transformers {transformers.__version__}, "
          f"{torch.get_num_threads()} threads", flush=True)
    print("  audio s   median s    IQR s   peak RSS MB so far", flush=True)
    rows = []
    for s in seconds:
        torch.manual_seed(7)
        audio = torch.randn(1, round(s * SAMPLING_RATE))
        times = []
        with torch.inference_mode():
            for i in range(a.warmup + a.repeats):
                start = time.perf_counter()
                logits = model(audio).logits
                elapsed = time.perf_counter() - start
                if i >= a.warmup:
                    times.append(elapsed)
        q1, med, q3 = quartiles(times)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows.append({"seconds": s, "frames": logits.shape[1], "median_seconds": med, "q1_seconds": q1, "q3_seconds": q3,
                     "times_seconds": times, "peak_rss_mb_so_far": peak_mb})
        print(f"  {s:7.2f} {med:10.4f} {q3 - q1:8.4f} {peak_mb:12.1f}", flush=True)
    if a.out:
        report = {"model": os.path.abspath(a.model), "implementation": "transformers.Wav2Vec2ConformerForCTC",
                  "torch": torch.__version__, "transformers": transformers.__version__,
                  "torch_config": torch.__config__.parallel_info(), "threads": torch.get_num_threads(),
                  "python": platform.python_version(), "load_seconds": load_s, "warmup": a.warmup,
                  "repeats": a.repeats, "lengths": rows}
        tmp = a.out + ".tmp"
        with open(tmp, "w") as f:
            json.dump(report, f, indent=2)
        os.replace(tmp, a.out)
        print(f"wrote {a.out}")


if __name__ == "__main__":
    sys.exit(main())

"""HuggingFace's Wav2Vec2ConformerForCTC on S seconds of noise: its feature encoder alone and the whole forward pass,
median of 41 passes after 3, at 1 and 2 threads. Usage: python hf_encoder.py MODEL SECONDS"""
import sys
import time

import torch
from transformers import Wav2Vec2ConformerForCTC

model = Wav2Vec2ConformerForCTC.from_pretrained(sys.argv[1]).eval()
torch.backends.nnpack.set_flags(False)
x = torch.randn(1, int(float(sys.argv[2]) * 16000))


def median_ms(f, n=41):
    for _ in range(3):
        f()
    ts = []
    for _ in range(n):
        s = time.perf_counter()
        f()
        ts.append(time.perf_counter() - s)
    return sorted(ts)[n // 2] * 1000


for threads in (1, 2):
    torch.set_num_threads(threads)
    with torch.inference_mode():
        enc = median_ms(lambda: model.wav2vec2_conformer.feature_extractor(x))
        whole = median_ms(lambda: model(x))
    print(f"PyTorch, {threads} thread(s): feature encoder {enc:.2f} ms, whole pass {whole:.2f} ms")

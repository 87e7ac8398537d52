"""The GPU's ceilings for roofline fractions, measured with PyTorch: device-to-device copy bandwidth, the float32
rate without tensor cores (the kernels accumulate in float32 FMAs), the bf16 tensor-core rate, and PyTorch's
SVD of a flagship K/V weight ([Wk; Wv], 2048 x 1024) on the GPU (cuSOLVER) and on the CPU. Writes a JSON file."""
import json
import sys
import time

import torch


def timed(fn, repeats=10):
    fn()
    torch.cuda.synchronize()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        samples.append(time.perf_counter() - start)
    samples.sort()
    return samples[len(samples) // 2]


def main(path):
    dev = torch.device("cuda")
    out = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}
    n = 1 << 28  # 1 GiB of float32
    a = torch.empty(n, device=dev)
    b = torch.empty_like(a)
    s = timed(lambda: b.copy_(a))
    out["copy_gb_per_s"] = 2 * 4 * n / s / 1e9  # read + write
    del a, b
    m = 8192
    x = torch.randn(m, m, device=dev)
    y = torch.randn(m, m, device=dev)
    torch.backends.cuda.matmul.allow_tf32 = False
    s = timed(lambda: x @ y, 5)
    out["fp32_gflop_per_s"] = 2 * m ** 3 / s / 1e9
    xb, yb = x.bfloat16(), y.bfloat16()
    s = timed(lambda: xb @ yb, 10)
    out["bf16_gflop_per_s"] = 2 * m ** 3 / s / 1e9
    del x, y, xb, yb
    w = torch.randn(2048, 1024, dtype=torch.float64)
    for name, t in (("svd_cpu_float64_s", w), ("svd_cuda_float64_s", w.to(dev))):
        if t.is_cuda:
            out[name] = timed(lambda: torch.linalg.svd(t, full_matrices=False), 5)
        else:
            start = time.perf_counter()
            torch.linalg.svd(t, full_matrices=False)
            out[name] = time.perf_counter() - start
    json.dump(out, open(path, "w"), indent=2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main(sys.argv[1])

"""results.md from kernel_check's timings and the measured ceilings: each CUDA case with its time, rates and
roofline fraction, max(GFLOP/s / float32 rate, GB/s / copy bandwidth), 1 = at the floor."""
import json
import re
import sys

bench_path, ceilings_path, failed = sys.argv[1], sys.argv[2], sys.argv[3] != "0"
try:
    ceilings = json.load(open(ceilings_path))
except (OSError, ValueError):
    ceilings = {}
flops = ceilings.get("fp32_gflop_per_s")
copy = ceilings.get("copy_gb_per_s")

print("# CUDA kernels on %s" % ceilings.get("device", "an unknown GPU"))
print()
print("checks: **%s** (CUDA vs CPU twin, streaming caches, CPU and emulated builds; check.log has every line)"
      % ("FAILED" if failed else "passed"))
print()
if ceilings:
    print("Ceilings (PyTorch): copy %.0f GB/s, float32 %.0f GFLOP/s (no TF32), bf16 %.0f GFLOP/s; SVD of a "
          "2048 x 1024 float64 weight: %.3f s on the GPU, %.3f s on the CPU." % (
              copy, flops, ceilings["bf16_gflop_per_s"], ceilings["svd_cuda_float64_s"], ceilings["svd_cpu_float64_s"]))
    print()
print("| case | ms | GFLOP/s | GB/s | roofline fraction | cold ms |")
print("|---|---|---|---|---|---|")
line_re = re.compile(r"^cuda\s+(.*?)\s+([\d.]+) ms\s+(?:([\d.]+) GFLOP/s\s+)?([\d.]+) GB/s(?:\s+cold\s+([\d.]+) ms)?")
try:
    lines = open(bench_path).read().splitlines()
except OSError:
    lines = []
for line in lines:
    m = line_re.match(line)
    if not m:
        continue
    case, ms, gf, gbs, cold = m.groups()
    parts = []
    if gf and flops:
        parts.append(float(gf) / flops)
    if copy:
        parts.append(float(gbs) / copy)
    fraction = "%.2f" % max(parts) if parts else "-"
    print("| %s | %s | %s | %s | %s | %s |" % (" ".join(case.split()), ms, gf or "-", gbs, fraction, cold or "-"))

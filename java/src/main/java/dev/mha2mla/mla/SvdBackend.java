package dev.mha2mla.mla;

import org.bytedeco.pytorch.Tensor;

/** Thin SVD A = U diag(S) Vh of a CPU matrix (m x n, m >= n), results on the CPU in A's dtype. */
public interface SvdBackend {
  record Factors(Tensor u, Tensor s, Tensor vh) {}

  Factors svd(Tensor a);

  /** Shown in conversion.json: "libtorch-cpu", "cusolver-gesvdj", ... */
  String name();

  static SvdBackend forDevice(String device) {
    if (device == null || device.equals("cpu")) return new TorchSvd();
    if (device.startsWith("cuda")) return CuSolverSvd.open();
    throw new IllegalArgumentException("--device must be cpu or cuda, got '" + device + "'");
  }
}

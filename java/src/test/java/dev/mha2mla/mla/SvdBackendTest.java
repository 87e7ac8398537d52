package dev.mha2mla.mla;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.mha2mla.kernels.TorchTensors;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;

/** Both SVD backends factor a [2d, d] matrix: A = U diag(S) Vh with orthonormal U, V and equal singular values. */
class SvdBackendTest {
  private static Tensor matrix() {
    torch.manual_seed(42);
    return torch.randn(96, 48).to(ScalarType.Double);
  }

  private static double reconstructionError(SvdBackend.Factors f, Tensor a) {
    Tensor back = torch.matmul(f.u().mul(f.s().unsqueeze(0)), f.vh());
    return back.sub(a).abs().max().item_double();
  }

  @Test
  void libtorchSvdReconstructsTheMatrix() {
    try (PointerScope scope = new PointerScope()) {
      Tensor a = matrix();
      SvdBackend.Factors f = new TorchSvd().svd(a);
      assertThat(f.u().shape()).containsExactly(96, 48);
      assertThat(f.vh().shape()).containsExactly(48, 48);
      assertThat(reconstructionError(f, a)).isLessThan(1e-10);
      double[] s = TorchTensors.toDoubles(f.s());
      for (int i = 1; i < s.length; i++) assertThat(s[i]).isLessThanOrEqualTo(s[i - 1]);
    }
  }

  @Test
  void cuSolverAgreesWithLibTorchWhereAGpuIsPresent() {
    assumeTrue(CuSolverSvd.available(), "no CUDA device or cuSOLVER here: the GPU path runs where one is");
    try (PointerScope scope = new PointerScope()) {
      Tensor a = matrix();
      SvdBackend.Factors gpu = CuSolverSvd.open().svd(a);
      SvdBackend.Factors cpu = new TorchSvd().svd(a);
      assertThat(reconstructionError(gpu, a)).isLessThan(1e-9);
      assertThat(gpu.s().sub(cpu.s()).abs().max().item_double()).isLessThan(1e-9);
      SvdBackend.Factors gpu32 = CuSolverSvd.open().svd(a.to(ScalarType.Float));
      assertThat(reconstructionError(gpu32, a.to(ScalarType.Float))).isLessThan(1e-4);
    }
  }
}

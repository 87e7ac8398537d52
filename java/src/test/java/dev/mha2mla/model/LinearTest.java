package dev.mha2mla.model;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mha2mla.kernels.NativeLinear;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * y = x W^T + b however many rows x has: up to {@link NativeLinear#preferredMaxRows()} rows the native kernel when
 * autograd is off, otherwise LibTorch (a few rows of a large weight the W x^T way round).
 */
class LinearTest {
  @Test
  void inferenceUpToThePreferredRowsRunsTheNativeKernel() {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      torch.manual_seed(3);
      Tensor weight = torch.randn(256, 128), bias = torch.randn(256);
      Linear linear = new Linear(weight, bias);
      for (long rows : new long[] {1, 99, NativeLinear.preferredMaxRows()}) {
        assertThat(NativeLinear.prefers(rows)).isTrue();
        Tensor x = torch.randn(rows, 128);
        // bit for bit the kernel's own result: its sums are in another order than OpenBLAS's
        assertThat(torch.equal(linear.forward(x), NativeLinear.forward(x, weight, bias))).isTrue();
      }
      // which tells the two apart: at 99 rows the kernel's result is not torch.linear's bit for bit
      Tensor x99 = torch.randn(99, 128);
      assertThat(torch.equal(NativeLinear.forward(x99, weight, bias), torch.linear(x99, weight, new TensorOptional(bias))))
          .isFalse();
      // more rows stay with LibTorch
      for (long rows : new long[] {NativeLinear.preferredMaxRows() + 1, 500}) {
        assertThat(NativeLinear.prefers(rows)).isFalse();
        Tensor x = torch.randn(rows, 128);
        assertThat(torch.equal(linear.forward(x), torch.linear(x, weight, new TensorOptional(bias)))).isTrue();
      }
    }
  }

  @Test
  void withAutogradTheProductIsDifferentiable() {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(4);
      Tensor weight = torch.randn(16, 8);
      weight.requires_grad_(true);
      Tensor x = torch.randn(5, 8);
      Tensor y = new Linear(weight, null).forward(x);
      assertThat(y.requires_grad()).isTrue();
      y.sum().backward();
      // d sum(x W^T) / dW[n][k] = sum_m x[m][k], the same for every n
      Tensor want = x.sum(new long[] {0}, false, new org.bytedeco.pytorch.ScalarTypeOptional()).expand(16, 8);
      assertThat(weight.grad().sub(want).abs().max().item_double()).isLessThan(1e-5);
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {1, 2, 7, 64, 65, 300})
  void equalsTorchLinearForAnyNumberOfRows(int rows) {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      torch.manual_seed(rows);
      Tensor weight = torch.randn(640, 512).mul(new org.bytedeco.pytorch.Scalar(0.05)); // 327,680 values: "large"
      Tensor bias = torch.randn(640);
      Tensor x = torch.randn(1, rows, 512);
      Tensor expected = torch.linear(x, weight, new TensorOptional(bias));
      for (Linear l : new Linear[] {new Linear(weight, bias), new Linear(weight, null)}) {
        Tensor y = l.forward(x);
        assertThat(y.shape()).containsExactly(1, rows, 640);
        Tensor want = l.bias() == null ? torch.linear(x, weight) : expected;
        assertThat(y.sub(want).abs().max().item_double()).isLessThan(1e-4);
      }
      // a strided (transposed) input
      Tensor xt = torch.randn(512, rows).t();
      assertThat(new Linear(weight, bias).forward(xt).sub(torch.linear(xt, weight, new TensorOptional(bias))).abs().max().item_double())
          .isLessThan(1e-4);
    }
  }
}

package dev.mha2mla.model;

import static org.assertj.core.api.Assertions.assertThat;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** y = x W^T + b however many rows x has (a few rows of a large weight take the W x^T way round). */
class LinearTest {
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

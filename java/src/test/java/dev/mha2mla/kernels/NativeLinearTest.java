package dev.mha2mla.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.global.torch;
import org.bytedeco.pytorch.global.torch.ScalarType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The native dense layer (entry point 4) against the same product in float64, and its argument checks. */
class NativeLinearTest {
  private static double maxAbsDiff(Tensor a, Tensor b) {
    return a.to(ScalarType.Double).sub(b.to(ScalarType.Double)).abs().max().item_double();
  }

  @ParameterizedTest(name = "rows={0} in={1} out={2}")
  @CsvSource({"1, 1, 1", "1, 1024, 32", "5, 31, 13", "99, 1024, 640", "197, 1024, 1024", "300, 2500, 72", "16, 64, 1031"})
  void equalsTheProductInDoublePrecision(int rows, int in, int out) {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(rows * 31L + out);
      Tensor x = torch.randn(rows, in);
      Tensor w = torch.randn(out, in).mul(new Scalar(1.0 / Math.sqrt(in)));
      Tensor b = torch.randn(out);
      Tensor x64 = x.to(ScalarType.Double), w64 = w.to(ScalarType.Double);
      Tensor want = torch.linear(x64, w64, new TensorOptional(b.to(ScalarType.Double)));
      assertThat(maxAbsDiff(NativeLinear.forward(x, w, b), want)).isLessThan(2e-5);
      assertThat(maxAbsDiff(NativeLinear.forward(x, w, null), torch.linear(x64, w64))).isLessThan(2e-5);
    }
  }

  @Test
  void keepsLeadingDimensionsAndTakesStridedInput() {
    try (PointerScope scope = new PointerScope()) {
      torch.manual_seed(5);
      Tensor w = torch.randn(24, 40), b = torch.randn(24);
      Tensor x = torch.randn(2, 3, 7, 40);
      Tensor y = NativeLinear.forward(x, w, b);
      assertThat(y.shape()).containsExactly(2, 3, 7, 24);
      assertThat(maxAbsDiff(y, torch.linear(x.to(ScalarType.Double), w.to(ScalarType.Double),
          new TensorOptional(b.to(ScalarType.Double))))).isLessThan(2e-5);
      Tensor xt = torch.randn(40, 9).t();  // rows 1 apart, columns 9 apart: copied to rows first
      assertThat(maxAbsDiff(NativeLinear.forward(xt, w, b), torch.linear(xt, w, new TensorOptional(b)))).isLessThan(2e-5);
      Tensor wide = torch.randn(9, 50).narrow(1, 5, 40);  // rows 50 apart, last dimension contiguous: read in place
      assertThat(maxAbsDiff(NativeLinear.forward(wide, w, b), torch.linear(wide, w, new TensorOptional(b)))).isLessThan(2e-5);
      assertThat(NativeLinear.forward(torch.randn(0, 40), w, b).shape()).containsExactly(0, 24);
    }
  }

  @Test
  void handCase() {
    try (PointerScope scope = new PointerScope()) {
      // [1 2 3] . [1 0 -1] = -2, [1 2 3] . [2 2 2] = 12; plus bias 0.5, -1
      Tensor x = torch.tensor(new float[] {1, 2, 3}).view(1, 3);
      Tensor w = torch.tensor(new float[] {1, 0, -1, 2, 2, 2}).view(2, 3);
      Tensor y = NativeLinear.forward(x, w, torch.tensor(new float[] {0.5f, -1f}));
      assertThat(torch.equal(y, torch.tensor(new float[] {-1.5f, 11f}).view(1, 2))).isTrue();
    }
  }

  @Test
  void refusesWhatItCannotTake() {
    try (PointerScope scope = new PointerScope()) {
      Tensor w = torch.randn(8, 4);
      assertThat(NativeLinear.accepts(torch.randn(3, 4), w, null)).isTrue();
      assertThat(NativeLinear.accepts(torch.randn(3, 5), w, null)).isFalse();
      assertThat(NativeLinear.accepts(torch.randn(3, 4).to(ScalarType.Double), w, null)).isFalse();
      Tensor strided = torch.randn(4, 8).t();  // [8, 4] like w, but not contiguous
      assertThat(NativeLinear.accepts(torch.randn(3, 4), strided, null)).isFalse();
      assertThat(NativeLinear.accepts(torch.randn(3, 4), w, torch.randn(7))).isFalse();
      assertThatThrownBy(() -> NativeLinear.forward(torch.randn(3, 5), w, null))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("[3, 5]");
    }
  }
}

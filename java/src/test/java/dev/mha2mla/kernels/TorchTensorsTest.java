package dev.mha2mla.kernels;

import static org.assertj.core.api.Assertions.assertThat;

import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;

/** {@link TorchTensors#scoped}: what a scoped body makes is freed when it returns, what it returns when the caller's scope closes. */
class TorchTensorsTest {
  @Test
  void aScopedBodyKeepsOnlyItsResultAndThatUntilTheOuterScopeCloses() {
    Tensor[] intermediate = new Tensor[1];
    Tensor out;
    Tensor input;
    try (PointerScope outer = new PointerScope()) {
      input = torch.ones(3);
      out = TorchTensors.scoped(() -> {
        intermediate[0] = input.mul(new Scalar(2));
        return intermediate[0].add(new Scalar(1));
      });
      assertThat(intermediate[0].isNull()).as("the intermediate is released when the body returns").isTrue();
      assertThat(input.isNull()).as("tensors made outside the body are untouched").isFalse();
      assertThat(TorchTensors.toFloats(out)).containsExactly(3f, 3f, 3f);
      // a body returning a tensor it did not make: still valid afterwards, released once by the outer scope
      Tensor same = TorchTensors.scoped(() -> input);
      assertThat(TorchTensors.toFloats(same)).containsExactly(1f, 1f, 1f);
    }
    assertThat(out.isNull()).as("the result belongs to the outer scope").isTrue();
    assertThat(input.isNull()).isTrue();
  }

  @Test
  void withoutAnOpenScopeTheBodyRunsAsItIs() {
    Tensor out = TorchTensors.scoped(() -> torch.ones(2).mul(new Scalar(4)));
    assertThat(TorchTensors.toFloats(out)).containsExactly(4f, 4f);
    out.close();
  }
}

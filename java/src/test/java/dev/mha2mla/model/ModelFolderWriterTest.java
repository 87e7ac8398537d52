package dev.mha2mla.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A model written back to a folder loads again with the same keys, bytes and outputs. */
class ModelFolderWriterTest {
  @Test
  void writtenModelRoundTripsEveryTensor(@TempDir Path dir) throws IOException {
    Path out = dir.resolve("copy");
    try (ConformerCtcModel model = ConformerCtcModel.load(FixtureTensors.modelDir())) {
      ModelFolderWriter.write(model, model.config(), FixtureTensors.modelDir(), out, Map.of());
      Map<String, dev.mha2mla.io.RawTensor> original = StateDictTestAccess.raw(FixtureTensors.modelDir());
      Map<String, dev.mha2mla.io.RawTensor> written = StateDictTestAccess.raw(out);
      assertThat(written.keySet()).containsExactlyInAnyOrderElementsOf(original.keySet());
      for (String k : original.keySet()) {
        assertThat(written.get(k).data()).as(k).isEqualTo(original.get(k).data());
      }
      try (ConformerCtcModel reloaded = ConformerCtcModel.load(out);
          PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
        Tensor input = FixtureTensors.open("inputs.safetensors").tensor("input_values.1").unsqueeze(0);
        assertThat(FixtureTensors.maxAbsDiff(model.forward(input, null, null).logits(),
            reloaded.forward(input, null, null).logits())).isZero();
      }
    }
  }
}

package dev.mha2mla.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.mha2mla.data.TrainingWords;
import dev.mha2mla.io.Fixtures;
import dev.mha2mla.io.RawTensor;
import dev.mha2mla.model.ConformerConfig;
import dev.mha2mla.model.ConformerCtcModel;
import dev.mha2mla.model.InitialWeights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The same trainer trains a freshly initialised model (HF _init_weights style) from a config and a vocabulary. */
class FromScratchTest {
  private static double std(float[] v) {
    double s = 0;
    for (float x : v) s += (double) x * x;
    return Math.sqrt(s / v.length);
  }

  @Test
  void initialWeightsFollowHuggingFacesInitAndTheSeed() throws IOException {
    ConformerConfig config = ConformerConfig.read(Fixtures.conformerTiny().resolve("config.json"));
    Map<String, RawTensor> w = InitialWeights.draw(config, 1);
    Map<String, RawTensor> again = InitialWeights.draw(config, 1);
    Map<String, RawTensor> other = InitialWeights.draw(config, 2);
    // the same 114 keys HF's state dict has for this config
    Map<String, RawTensor> hf = TrainingFixtures.tensors(Fixtures.conformerTiny().resolve("model.safetensors"));
    assertThat(w.keySet()).containsExactlyInAnyOrderElementsOf(hf.keySet());
    for (String k : hf.keySet()) assertThat(w.get(k).shape()).as(k).isEqualTo(hf.get(k).shape());
    assertThat(w).isEqualTo(again);
    assertThat(w.get("lm_head.weight")).isNotEqualTo(other.get("lm_head.weight"));

    String layer = "wav2vec2_conformer.encoder.layers.0.";
    assertThat(std(w.get(layer + "self_attn.linear_q.weight").toFloatArray())).isCloseTo(0.02, within(0.003));
    assertThat(w.get(layer + "self_attn.linear_q.bias").toFloatArray()).containsOnly(0f);
    assertThat(w.get(layer + "ffn1_layer_norm.weight").toFloatArray()).containsOnly(1f);
    assertThat(w.get(layer + "conv_module.batch_norm.running_var").toFloatArray()).containsOnly(1f);
    assertThat(w.get(layer + "conv_module.batch_norm.running_mean").toFloatArray()).containsOnly(0f);
    // kaiming_normal_: std sqrt(2 / fan_in), fan_in of the pointwise conv = 64
    assertThat(std(w.get(layer + "conv_module.pointwise_conv1.weight").toFloatArray())).isCloseTo(Math.sqrt(2.0 / 64), within(0.01));
    // xavier_uniform_ on [4, 16]: bound sqrt(6 / 20)
    for (float x : w.get(layer + "self_attn.pos_bias_u").toFloatArray()) assertThat((double) Math.abs(x)).isLessThanOrEqualTo(Math.sqrt(0.3));
    for (float x : w.get("wav2vec2_conformer.masked_spec_embed").toFloatArray()) assertThat(x).isBetween(0f, 1f);
  }

  @Test
  void trainsAFreshModelWithEveryParameter(@TempDir Path dir) throws IOException {
    Path tiny = Fixtures.conformerTiny();
    Path data = TrainingFixtures.manifest(dir.resolve("data"), "two.tsv", tiny.resolve("audio.wav") + "\tHELLO WORLD",
        tiny.resolve("audio1.wav") + "\tHI THERE");
    Path out = dir.resolve("out");
    TrainingResult r = new Trainer(FinetuneOptions.builder().initConfig(tiny.resolve("config.json"))
        .vocab(tiny.resolve("vocab.json")).train(data).valid(data).out(out).scope(TrainScope.ALL)
        .maxSteps(4).batchSize(2).learningRate(2e-3).warmupSteps(0).evalEvery(4).seed(3).build()).run(TrainingListener.NONE);
    assertThat(r.best().step()).isEqualTo(4);
    assertThat(r.best().loss()).isLessThan(r.initial().loss());
    assertThat(r.bestModel().resolve("vocab.json")).exists();
    assertThat(r.bestModel().resolve("preprocessor_config.json")).exists();
    try (ConformerCtcModel m = ConformerCtcModel.load(r.bestModel())) {
      assertThat(m.config().vocabSize()).isEqualTo(32);
    }
    // BatchNorm running statistics are buffers, not parameters: training leaves them at their initial 0 / 1
    Map<String, RawTensor> best = TrainingFixtures.tensors(r.bestModel().resolve("model.safetensors"));
    assertThat(best.get("wav2vec2_conformer.encoder.layers.1.conv_module.batch_norm.running_var").toFloatArray())
        .containsOnly(1f);

    // a model trained from scratch records every word it was trained on; a model fine-tuned from it, the union
    assertThat(TrainingWords.read(r.bestModel()).words()).containsExactlyInAnyOrder("HELLO", "WORLD", "HI", "THERE");
    Path more = TrainingFixtures.manifest(dir.resolve("more"), "more.tsv", tiny.resolve("audio.wav") + "\tHI YOU");
    TrainingResult tuned = new Trainer(FinetuneOptions.builder().model(r.bestModel()).train(more).valid(more)
        .out(dir.resolve("tuned")).maxSteps(1).batchSize(1).evalEvery(1).seed(3).build()).run(TrainingListener.NONE);
    assertThat(TrainingWords.read(tuned.bestModel()).words())
        .containsExactlyInAnyOrder("HELLO", "WORLD", "HI", "THERE", "YOU");
  }

  /** A pretrained model whose folder records no training words: fine-tuning it claims none either. */
  @Test
  void fineTuningAModelOfUnknownHistoryWritesNoTrainingWords(@TempDir Path dir) throws IOException {
    Path tiny = Fixtures.conformerTiny();
    Path data = TrainingFixtures.manifest(dir.resolve("data"), "one.tsv", tiny.resolve("audio.wav") + "\tHELLO");
    TrainingResult r = new Trainer(FinetuneOptions.builder().model(tiny).train(data).valid(data).out(dir.resolve("out"))
        .maxSteps(1).batchSize(1).evalEvery(1).seed(3).build()).run(TrainingListener.NONE);
    assertThat(r.bestModel().resolve("vocab.json")).exists();
    assertThat(TrainingWords.read(r.bestModel())).isNull();
  }
}

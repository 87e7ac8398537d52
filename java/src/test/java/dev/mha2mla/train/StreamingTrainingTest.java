package dev.mha2mla.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mha2mla.RecognizerStream;
import dev.mha2mla.SpeechRecognizer;
import dev.mha2mla.StreamOptions;
import dev.mha2mla.io.Fixtures;
import dev.mha2mla.io.Json;
import dev.mha2mla.io.RawTensor;
import dev.mha2mla.io.WavReader;
import dev.mha2mla.model.AudioNormalizer;
import dev.mha2mla.model.Chunking;
import dev.mha2mla.model.ConformerConfig;
import dev.mha2mla.model.ConformerCtcModel;
import dev.mha2mla.kernels.TorchTensors;
import dev.mha2mla.model.StreamingCacheKind;
import dev.mha2mla.model.WaveformStatistics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Chunk-aware fine-tuning on the tiny fixture: the fixed normalisation folded into the first convolution is exact, the
 * trained model reads raw samples and streams what it learned, a killed streaming run resumes to the same bits, and
 * options that do not fit the model or the checkpoint are refused before anything is written.
 */
class StreamingTrainingTest extends TinyRunTest {
  private static FinetuneOptions.Builder tiny(Path out) {
    return tiny.options(out).maxSteps(6).evalEvery(3)
        .streaming(new StreamingTraining(List.of(1, 3, StreamingTraining.FULL), 8, null));
  }

  @Test
  void foldingTheNormalisationIntoTheFirstConvolutionIsExact() throws IOException {
    float[] x = WavReader.read(Fixtures.conformerTiny().resolve("audio.wav")).samples();
    WaveformStatistics s = new WaveformStatistics(0.013, 0.07);
    try (ConformerCtcModel normalised = ConformerCtcModel.load(tiny.model()); ConformerCtcModel folded = ConformerCtcModel.load(tiny.model());
        PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      assertThat(folded.featureEncoder().foldNormalization(s)).isEqualTo(s);
      Tensor a = normalised.forward(TorchTensors.floats(s.apply(x), 1, x.length), null, null).logits();
      Tensor b = folded.forward(TorchTensors.floats(x, 1, x.length), null, null).logits();
      double scale = a.abs().max().item_double();
      assertThat(b.sub(a).abs().max().item_double()).isLessThan(1e-5 * Math.max(1, scale));
    }
  }

  @Test
  void theTrainedModelReadsRawSamplesAndStreamsWhatItLearned(@TempDir Path out) throws IOException {
    TrainingResult result = new Trainer(tiny(out).build()).run(TrainingListener.NONE);
    assertThat(result.status()).isEqualTo("finished");
    Path best = result.bestModel();
    AudioNormalizer n = AudioNormalizer.read(best.resolve("preprocessor_config.json"));
    assertThat(n.doNormalize()).as("statistics folded: raw samples in").isFalse();
    ConformerConfig c = ConformerConfig.read(best.resolve("config.json"));
    assertThat(c.isStreamingTrained()).isTrue();
    assertThat(c.toJson()).contains("\"chunk_frames\"", "\"full\"", "\"left_context_frames\" : 8", "folded_waveform_normalization");
    // the statistics are those of every --train sample (the fixture folder records none)
    WaveformStatistics.Accumulator acc = new WaveformStatistics.Accumulator();
    for (String line : Files.readAllLines(tiny.train())) {
      Path audio = tiny.train().resolveSibling(line.split("\t")[0]);
      acc.add(WavReader.read(audio).samples());
    }
    TrainerState state = Json.read(out.resolve(TrainerState.FILE), TrainerState.class);
    assertThat(state.recipe().streaming()).contains("chunks 1,3,full, left context 8")
        .contains(String.format(java.util.Locale.ROOT, "mean %.9g std %.9g", acc.result().mean(), acc.result().std()));
    assertThat(state.evaluations().get(0).chunkWordErrorRates()).containsOnlyKeys("1");  // one batch of 2 utterances: k = 0
    // the default streaming scope trains everything after the feature encoder; of that, only the first convolution
    // changed (by the fold)
    Map<String, RawTensor> before = TrainingFixtures.tensors(tiny.model().resolve("model.safetensors"));
    Map<String, RawTensor> after = TrainingFixtures.tensors(best.resolve("model.safetensors"));
    String prefix = "wav2vec2_conformer.feature_extractor.conv_layers.";
    assertThat(after.get(prefix + "0.conv.weight").data()).isNotEqualTo(before.get(prefix + "0.conv.weight").data());
    assertThat(after.get(prefix + "1.conv.weight").data()).isEqualTo(before.get(prefix + "1.conv.weight").data());
    String depthwise = "wav2vec2_conformer.encoder.layers.0.conv_module.depthwise_conv.weight";
    assertThat(after.get(depthwise).data()).isNotEqualTo(before.get(depthwise).data());
    assertThat(after.get("lm_head.weight").data()).isNotEqualTo(before.get("lm_head.weight").data());

    // its stream (raw samples, no statistics needed) is its chunk-masked forward pass
    float[] x = WavReader.read(Fixtures.conformerTiny().resolve("audio.wav")).samples();
    try (SpeechRecognizer asr = SpeechRecognizer.open(best);
        RecognizerStream stream = asr.openStream(new StreamOptions(3, 8, StreamingCacheKind.LATENT))) {
      stream.accept(x);
      float[][] streamed = stream.finish().logits();
      try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
        float[] full = TorchTensors.toFloats(asr.model().forward(TorchTensors.floats(x, 1, x.length), null,
            new Chunking(3, 8), null, null, null).logits());
        double worst = 0;
        for (int t = 0; t < streamed.length; t++) {
          for (int v = 0; v < streamed[t].length; v++) worst = Math.max(worst, Math.abs(streamed[t][v] - full[t * streamed[t].length + v]));
        }
        assertThat(worst).isLessThan(1e-4);
      }
    }
  }

  @Test
  void aKilledStreamingRunResumesToBitIdenticalWeights(@TempDir Path dir) throws IOException {
    Path straight = dir.resolve("straight");
    new Trainer(tiny(straight).checkpointEvery(1).build()).run(TrainingListener.NONE);
    Path killed = dir.resolve("killed");
    assertThatThrownBy(() -> new Trainer(tiny(killed).checkpointEvery(1).build()).run(new TrainingListener() {
      @Override
      public void stepDone(StepMetrics m) {
        if (m.step() == 4) throw new IllegalStateException("simulated kill -9 during update 4");
      }
    })).hasMessageContaining("simulated kill");
    new Trainer(tiny(killed).checkpointEvery(1).resume(true).build()).run(TrainingListener.NONE);
    for (String file : new String[] {Checkpoint.TRAINABLE, Checkpoint.OPTIMIZER}) {
      Map<String, RawTensor> a = TrainingFixtures.tensors(Checkpoint.dir(straight).resolve(file));
      Map<String, RawTensor> b = TrainingFixtures.tensors(Checkpoint.dir(killed).resolve(file));
      assertThat(b.keySet()).containsExactlyElementsOf(a.keySet());
      for (String name : a.keySet()) assertThat(b.get(name).data()).as("%s %s", file, name).isEqualTo(a.get(name).data());
    }
  }

  @Test
  void resumingWithOtherStreamingOptionsIsRefusedAndWritesNothing(@TempDir Path dir) throws IOException {
    Path run = dir.resolve("run");
    new Trainer(tiny(run).stopAfterSteps(3).build()).run(TrainingListener.NONE);
    byte[] state = Files.readAllBytes(run.resolve(TrainerState.FILE));
    long files;
    try (var list = Files.walk(run)) {
      files = list.count();
    }
    assertThatThrownBy(() -> new Trainer(tiny(run).streaming(null).resume(true).build()).run(TrainingListener.NONE))
        .isInstanceOf(IncompatibleOptionsException.class).hasMessageContaining("streaming").hasMessageContaining("off");
    assertThatThrownBy(() -> new Trainer(tiny(run).streaming(new StreamingTraining(List.of(1, 3, 0), 16, null)).resume(true)
        .build()).run(TrainingListener.NONE)).isInstanceOf(IncompatibleOptionsException.class)
        .hasMessageContaining("left context 8").hasMessageContaining("left context 16");
    assertThat(Files.readAllBytes(run.resolve(TrainerState.FILE))).isEqualTo(state);
    try (var list = Files.walk(run)) {
      assertThat(list.count()).isEqualTo(files);
    }
    // the same options continue
    assertThat(new Trainer(tiny(run).resume(true).build()).run(TrainingListener.NONE).steps()).isEqualTo(6);
  }

  @Test
  void aModelWhoseFeatureEncoderCannotStreamIsRefusedBeforeAnythingIsWritten(@TempDir Path dir) throws IOException {
    Path group = dir.resolve("group-norm");
    Files.createDirectories(group);
    for (String f : new String[] {"model.safetensors", "vocab.json", "preprocessor_config.json"}) {
      Files.copy(tiny.model().resolve(f), group.resolve(f));
    }
    Files.writeString(group.resolve("config.json"), Files.readString(tiny.model().resolve("config.json"))
        .replace("\"feat_extract_norm\" : \"layer\"", "\"feat_extract_norm\" : \"group\""));
    assertThat(Files.readString(group.resolve("config.json"))).contains("\"group\"");
    Path out = dir.resolve("out");
    assertThatThrownBy(() -> new Trainer(tiny(out).model(group).build()).run(TrainingListener.NONE))
        .isInstanceOf(IncompatibleOptionsException.class).hasMessageContaining(group.resolve("config.json").toString())
        .hasMessageContaining("feat_extract_norm \"group\"");
    assertThat(out).doesNotExist();
  }

  @Test
  void badChunkSettingsAreRefused() {
    assertThatThrownBy(() -> new StreamingTraining(List.of(), 8, null)).hasMessageContaining("at least one");
    assertThatThrownBy(() -> new StreamingTraining(List.of(4, -1), 8, null)).hasMessageContaining("at least 1 frame");
    assertThatThrownBy(() -> new StreamingTraining(List.of(4), -1, null)).hasMessageContaining("--left-context");
    assertThatThrownBy(() -> new StreamingTraining(List.of(4, 4), 8, null)).hasMessageContaining("twice");
    assertThatThrownBy(() -> StreamingTraining.parseChunks("4,0")).hasMessageContaining("at least 1 frame");
    assertThatThrownBy(() -> StreamingTraining.parseChunks("4,x")).hasMessageContaining("comma-separated");
    assertThat(StreamingTraining.parseChunks("1, 4,full")).containsExactly(1, 4, StreamingTraining.FULL);
  }
}

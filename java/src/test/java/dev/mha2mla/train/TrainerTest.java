package dev.mha2mla.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mha2mla.data.Dataset;
import dev.mha2mla.data.Utterance;
import dev.mha2mla.io.Json;
import dev.mha2mla.io.RawTensor;
import dev.mha2mla.model.AudioNormalizer;
import dev.mha2mla.model.ConformerCtcModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fine-tuning the tiny fixture model after MLA conversion at r = d/4: the loss goes down, only attention changes,
 * a killed run resumes to the same bits, and bad input stops with a message and no corrupt checkpoint.
 */
class TrainerTest extends TinyRunTest {
  /** A short run: batches of 2 over 4 clips, validation on two of them (a check that training fits its data). */
  private static FinetuneOptions.Builder tiny(Path out) {
    return tiny.options(out).maxSteps(8).evalEvery(4);
  }

  @Test
  void fineTuningLowersTheLossAndChangesOnlyTheAttention(@TempDir Path out) throws IOException {
    List<StepMetrics> steps = new ArrayList<>();
    TrainingResult result = new Trainer(tiny(out).build()).run(new TrainingListener() {
      @Override
      public void stepDone(StepMetrics m) {
        steps.add(m);
      }
    });

    assertThat(result.status()).isEqualTo("finished");
    assertThat(result.steps()).isEqualTo(8);
    assertThat(steps).hasSize(8);
    assertThat(result.best().step()).isPositive();
    assertThat(result.best().loss()).as("validation loss after vs before").isLessThan(result.initial().loss());
    System.out.printf("tiny fine-tune: validation loss %.3f -> %.3f (step %d)%n", result.initial().loss(),
        result.best().loss(), result.best().step());

    // frozen tensors (parameters and BatchNorm buffers) are byte-identical; the attention's are not
    Map<String, RawTensor> before = TrainingFixtures.tensors(tiny.model().resolve("model.safetensors"));
    Map<String, RawTensor> after = TrainingFixtures.tensors(result.bestModel().resolve("model.safetensors"));
    assertThat(after.keySet()).containsExactlyElementsOf(before.keySet());
    int changed = 0;
    for (String name : before.keySet()) {
      boolean same = before.get(name).data().equals(after.get(name).data());
      if (TrainScope.ATTENTION.trains(name)) {
        if (!same) changed++;
      } else {
        assertThat(same).as("frozen tensor %s is bit-identical", name).isTrue();
      }
    }
    assertThat(changed).as("attention tensors changed").isGreaterThanOrEqualTo(2 * 9);

    // the best model is a complete HF folder that loads; the outputs are all there
    try (ConformerCtcModel reloaded = ConformerCtcModel.load(result.bestModel())) {
      assertThat(reloaded.config().isMla()).isTrue();
    }
    assertThat(result.bestModel().resolve("vocab.json")).exists();
    assertThat(result.bestModel().resolve(Trainer.BEST_INFO)).exists();
    assertThat(out.resolve(MetricsLog.CSV)).exists();
    assertThat(Files.readAllLines(out.resolve(MetricsLog.CSV))).hasSize(1 + 8 + 3);
    assertThat(Files.readAllLines(out.resolve(MetricsLog.JSONL))).hasSize(8 + 3);
    TrainerState state = Json.read(out.resolve(TrainerState.FILE), TrainerState.class);
    assertThat(state.status()).isEqualTo("finished");
    assertThat(state.evaluations()).hasSize(3);
    assertThat(state.run()).isNotNull();
    try (var files = Files.list(out)) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .anyMatch(n -> n.startsWith(TensorBoardWriter.FILE_PREFIX))
          .noneMatch(n -> n.startsWith("."));
    }
  }

  @Test
  void aKilledRunResumesToBitIdenticalWeights(@TempDir Path dir) throws IOException {
    // 5 updates (2 per epoch), validation every 2, a checkpoint after every update; the second run dies during
    // update 4, so it resumes from step 3, in the middle of epoch 1, with a validation still to come
    Path straight = dir.resolve("straight");
    new Trainer(tiny(straight).maxSteps(5).evalEvery(2).checkpointEvery(1).build()).run(TrainingListener.NONE);

    Path killed = dir.resolve("killed");
    assertThatThrownBy(() -> new Trainer(tiny(killed).maxSteps(5).evalEvery(2).checkpointEvery(1).build())
        .run(new TrainingListener() {
          @Override
          public void stepDone(StepMetrics m) {
            if (m.step() == 4) throw new IllegalStateException("simulated kill -9 during update 4");
          }
        })).hasMessageContaining("simulated kill");
    assertThat(Checkpoint.read(killed).state().step()).isEqualTo(3);

    TrainingResult resumed = new Trainer(tiny(killed).maxSteps(5).evalEvery(2).checkpointEvery(1).resume(true).build())
        .run(TrainingListener.NONE);
    assertThat(resumed.steps()).isEqualTo(5);

    for (String file : new String[] {Checkpoint.TRAINABLE, Checkpoint.OPTIMIZER}) {
      Map<String, RawTensor> a = TrainingFixtures.tensors(Checkpoint.dir(straight).resolve(file));
      Map<String, RawTensor> b = TrainingFixtures.tensors(Checkpoint.dir(killed).resolve(file));
      assertThat(b.keySet()).containsExactlyElementsOf(a.keySet());
      for (String name : a.keySet()) assertThat(b.get(name).data()).as("%s %s", file, name).isEqualTo(a.get(name).data());
    }
    assertThat(Files.readAllBytes(killed.resolve("best/model.safetensors")))
        .isEqualTo(Files.readAllBytes(straight.resolve("best/model.safetensors")));
    // the resumed log holds each step once, with the uninterrupted run's losses
    assertThat(lossColumn(killed)).isEqualTo(lossColumn(straight));
  }

  private static List<String> lossColumn(Path out) throws IOException {
    List<String> rows = new ArrayList<>();
    for (String line : Files.readAllLines(out.resolve(MetricsLog.CSV))) {
      String[] c = line.split(",", -1);
      rows.add(c[0] + " " + c[2] + " " + c[3]);
    }
    return rows;
  }

  @Test
  void resumingWithDifferentSettingsIsRefused(@TempDir Path out) throws IOException {
    new Trainer(tiny(out).maxSteps(1).build()).run(TrainingListener.NONE);
    assertThatThrownBy(() -> new Trainer(tiny(out).maxSteps(1).learningRate(1e-2).resume(true).build()).run(TrainingListener.NONE))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("learning rate");
    assertThatThrownBy(() -> new Trainer(tiny(out).maxSteps(1).build()).run(TrainingListener.NONE))
        .hasMessageContaining("--resume");
  }

  @Test
  void anEmptyDatasetIsRefusedBeforeAnythingIsWritten(@TempDir Path dir) throws IOException {
    Path empty = TrainingFixtures.manifest(dir, "empty.tsv");
    Path out = dir.resolve("out");
    assertThatThrownBy(() -> new Trainer(tiny(out).train(empty).build()).run(TrainingListener.NONE))
        .hasMessageContaining("empty.tsv").hasMessageContaining("no utterances");
    assertThat(Checkpoint.dir(out)).doesNotExist();
    // a dataset that opens but holds nothing (an empty folder, a filtered subset) is refused by the trainer itself
    Dataset none = new Dataset() {
      @Override
      public String name() {
        return "subset";
      }

      @Override
      public List<Utterance> utterances() {
        return List.of();
      }
    };
    assertThatThrownBy(() -> TrainingData.prepare("--train", none, null, null, AudioNormalizer.DEFAULT, i -> {}))
        .isInstanceOf(TrainingDataException.class).hasMessage("--train subset: the dataset holds no utterances; point "
            + "--train at a TSV manifest (path<TAB>transcript per line) or a LibriSpeech folder with audio");
  }

  @Test
  void labelsLongerThanTheFramesNameTheUtterance(@TempDir Path dir) throws IOException {
    TrainingFixtures.writeTones(dir.resolve("short.wav"), 3200, 440, 1); // 0.2 s: 9 frames
    Path bad = TrainingFixtures.manifest(dir, "bad.tsv", "short.wav\tTHIS TRANSCRIPT IS FAR TOO LONG",
        dev.mha2mla.io.Fixtures.conformerTiny().resolve("audio.wav") + "\tFINE");
    Path out = dir.resolve("out");
    assertThatThrownBy(() -> new Trainer(tiny(out).train(bad).build()).run(TrainingListener.NONE))
        .isInstanceOf(TrainingDataException.class)
        .hasMessageContaining("short.wav").hasMessageContaining("9 frames").hasMessageContaining("31 labels")
        .satisfies(e -> assertThat(((TrainingDataException) e).utterances()).containsExactly("short.wav"));
    assertThat(Checkpoint.dir(out)).doesNotExist();
  }

  @Test
  void aNanLossStopsTrainingAndKeepsTheLastGoodCheckpoint(@TempDir Path out) throws IOException {
    // an absurd learning rate throws the attention weights to ~1e30: the next forward pass overflows
    FinetuneOptions options = tiny(out).learningRate(1e30).warmupSteps(0).maxGradNorm(0).evalEvery(100).build();
    assertThatThrownBy(() -> new Trainer(options).run(TrainingListener.NONE))
        .isInstanceOf(TrainingDivergedException.class)
        .hasMessageContaining("last good checkpoint (step 0)")
        .satisfies(e -> assertThat(((TrainingDivergedException) e).lastCheckpointStep()).isZero());
    Checkpoint.Loaded kept = Checkpoint.read(out);
    assertThat(kept.state().step()).isZero();
    Map<String, RawTensor> source = TrainingFixtures.tensors(tiny.model().resolve("model.safetensors"));
    for (Map.Entry<String, RawTensor> e : kept.trainable().entrySet()) {
      assertThat(e.getValue().data()).as(e.getKey()).isEqualTo(source.get(e.getKey()).data());
    }
    assertThat(Json.read(out.resolve(TrainerState.FILE), TrainerState.class).status()).isEqualTo("diverged");
  }

  @Test
  void stopsEarlyWhenTheValidationLossStopsImproving(@TempDir Path out) throws IOException {
    // a learning rate far below float32 resolution leaves the weights, hence the validation loss, unchanged
    TrainingResult r = new Trainer(tiny(out).learningRate(1e-15).warmupSteps(0).evalEvery(1).patience(2).build())
        .run(TrainingListener.NONE);
    assertThat(r.status()).isEqualTo("stopped_early");
    assertThat(r.steps()).isEqualTo(2);
    assertThat(r.best().step()).isZero();
    assertThat(r.stopReason()).contains("patience 2");
    assertThat(Checkpoint.read(out).state().step()).isEqualTo(2);
    // resuming a run that stopped early does not train further
    assertThat(new Trainer(tiny(out).learningRate(1e-15).warmupSteps(0).evalEvery(1).patience(2).resume(true).build())
        .run(TrainingListener.NONE).steps()).isEqualTo(2);
  }

  @Test
  void aRunThatDidEveryUpdateFinishedEvenIfPatienceRanOutOnTheLast(@TempDir Path out) throws IOException {
    TrainingResult r = new Trainer(tiny(out).learningRate(1e-15).warmupSteps(0).maxSteps(2).evalEvery(1).patience(2).build())
        .run(TrainingListener.NONE);
    assertThat(r.steps()).isEqualTo(2);
    assertThat(r.status()).isEqualTo("finished");
    assertThat(r.stopReason()).isEqualTo("completed 2 updates");
    assertThat(Json.read(out.resolve(TrainerState.FILE), TrainerState.class).status()).isEqualTo("finished");
  }

  @Test
  void latentScopeTrainsOnlyTheNewProjections(@TempDir Path out) throws IOException {
    TrainingResult r = new Trainer(tiny(out).scope(TrainScope.LATENT).maxSteps(1).build())
        .run(TrainingListener.NONE);
    assertThat(TrainingFixtures.tensors(Checkpoint.dir(out).resolve(Checkpoint.TRAINABLE)).keySet())
        .allMatch(n -> n.contains(".kv_down.") || n.contains(".k_up.") || n.contains(".v_up."))
        .hasSize(2 * 5);
    assertThat(r.steps()).isEqualTo(1);
  }
}

package dev.mha2mla.reliability;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Coverage-guided fuzzing (Jazzer) of every parser that reads files a user may have downloaded: the
 * safetensors header, torch.save's zip and pickle, WAV, FLAC and config.json. The property is
 * {@link FuzzTargets}': a result or the declared exception, never an Error, another unchecked exception or
 * a JVM crash.
 *
 * <p>In a normal build ({@code JAZZER_FUZZ} unset) each method runs once per seed: the {@link Seeds} named by
 * its {@code @MethodSource}, the empty input, and any reproducer Jazzer saved under
 * {@code src/test/resources/dev/mha2mla/reliability/FormatFuzzTestInputs/<method>/}; that takes seconds.
 * {@link MutationFuzzTest} adds a few thousand deterministic mutations per format to every build.
 *
 * <p>A fuzzing campaign, by hand, one method at a time (Jazzer fuzzes one target per JVM), stops after
 * {@code maxDuration} ({@link #CAMPAIGN}; edit it for a longer one, e.g. "2h") or at the first finding:
 * <pre>
 *   JAZZER_FUZZ=1 mvn -B -pl java test -Dtest='FormatFuzzTest#safetensors' -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 * The seeds start the corpus; what the fuzzer learns accumulates in {@code java/.cifuzz-corpus/}. A finding is
 * written as {@code crash-<sha1>} into that inputs folder if it exists, else into {@code java/}: move it there,
 * fix the reader, and every build replays it.
 */
class FormatFuzzTest {
  // Jazzer requires @FuzzTest to come after every other arguments source, hence @MethodSource first.
  private static final String CAMPAIGN = "10m";

  @MethodSource("safetensorsSeeds")
  @FuzzTest(maxDuration = CAMPAIGN)
  void safetensors(byte[] file) throws IOException {
    FuzzTargets.safetensors(file);
  }

  @MethodSource("pickleSeeds")
  @FuzzTest(maxDuration = CAMPAIGN)
  void torchPickle(byte[] dataPkl) throws IOException {
    FuzzTargets.torchPickle(dataPkl);
  }

  @MethodSource("torchArchiveSeeds")
  @FuzzTest(maxDuration = CAMPAIGN)
  void torchArchive(byte[] file) throws IOException {
    FuzzTargets.torchArchive(file);
  }

  @MethodSource("wavSeeds")
  @FuzzTest(maxDuration = CAMPAIGN)
  void wav(byte[] file) throws IOException {
    FuzzTargets.wav(file);
  }

  @MethodSource("flacSeeds")
  @FuzzTest(maxDuration = CAMPAIGN)
  void flac(byte[] file) throws IOException {
    FuzzTargets.flac(file);
  }

  @MethodSource("configSeeds")
  @FuzzTest(maxDuration = CAMPAIGN)
  void config(byte[] json) throws IOException {
    FuzzTargets.configFile(json);
  }

  static Stream<Arguments> safetensorsSeeds() {
    return named(Seeds.safetensors());
  }

  static Stream<Arguments> pickleSeeds() {
    return named(Seeds.pickles());
  }

  static Stream<Arguments> torchArchiveSeeds() {
    return named(Seeds.torchArchives());
  }

  static Stream<Arguments> wavSeeds() {
    return named(Seeds.wavs());
  }

  static Stream<Arguments> flacSeeds() {
    Map<String, byte[]> all = new java.util.LinkedHashMap<>(Seeds.flacs());
    all.putAll(Seeds.flacHeaders());
    return named(all);
  }

  static Stream<Arguments> configSeeds() {
    return named(Seeds.configs());
  }

  private static Stream<Arguments> named(Map<String, byte[]> seeds) {
    return seeds.entrySet().stream().map(e -> Arguments.of(Named.of(e.getKey(), e.getValue())));
  }
}

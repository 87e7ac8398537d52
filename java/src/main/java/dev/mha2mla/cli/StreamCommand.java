package dev.mha2mla.cli;

import dev.mha2mla.RecognizerStream;
import dev.mha2mla.SpeechRecognizer;
import dev.mha2mla.StreamOptions;
import dev.mha2mla.data.AudioFiles;
import dev.mha2mla.io.Json;
import dev.mha2mla.model.CpuThreads;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Parameters;

/** {@code mha2mla stream}: feeds a recording to a streaming session piece by piece and prints the partial transcripts. */
@Command(
    name = "stream",
    header = "Transcribe an audio file as a live stream, printing each partial transcript.",
    mixinStandardHelpOptions = true,
    description = {
      "Transcribe a 16 kHz WAV or FLAC file as a live stream: the audio is fed in pieces of --feed-ms, the",
      "network runs every --chunk frames (20 ms each) with up to --left-context earlier frames cached",
      "(K/V for an MHA model, the latent for an MLA model), and each new partial transcript is printed",
      "with the audio time it was reached at. The last line is the final transcript.",
      "A model trained on whole utterances streams poorly (it never learned to do without the future",
      "beyond its chunk; 'mha2mla evaluate --stream-chunk' measures the cost); one fine-tuned with",
      "'finetune --streaming', such as the default model, computes in a stream what it was trained on."
    })
final class StreamCommand implements Callable<Integer> {
  @Option(names = "--model", paramLabel = "DIR",
      description = "Model folder (MHA or converted MLA). Default: the shipped streaming model, " + SHIPPED + ".")
  Path model;

  /** The model trained for streaming that ships in models/ (see its MODEL.md). */
  static final String SHIPPED = "models/conformer-small-synthetic-mla-streaming";

  @Option(names = "--chunk", defaultValue = "16", paramLabel = "FRAMES",
      description = "Encoder frames per network call. Default: ${DEFAULT-VALUE} (320 ms).")
  int chunk;

  @Mixin
  StreamFlags streaming;

  @Option(names = "--feed-ms", defaultValue = "100", paramLabel = "MS",
      description = "Audio per accept() call, as a capture device would deliver it. Default: ${DEFAULT-VALUE}.")
  int feedMs;

  @Mixin
  DeviceOption device;

  @Option(names = "--json-out", paramLabel = "FILE", description = "Also write partials, final transcript and timings as JSON.")
  Path jsonOut;

  @Parameters(arity = "1", paramLabel = "AUDIO", description = "WAV or FLAC file (16-bit, mono, 16 kHz).")
  Path audio;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    CpuThreads.configureAdaptive();
    streaming.check("--chunk", chunk);
    if (feedMs < 1) throw Usage.error(spec, "--feed-ms must be at least 1, got " + feedMs);
    if (model == null) {
      String home = System.getProperty("mha2mla.home");
      model = Path.of(home != null ? home : ".").resolve(SHIPPED);
      if (!java.nio.file.Files.isDirectory(model)) throw Usage.error(spec, model + ": the shipped streaming model is missing; pass --model DIR");
    }
    try (SpeechRecognizer asr = SpeechRecognizer.open(model, device.name())) {
      int rate = asr.normalizer().samplingRate();
      float[] samples = AudioFiles.read(audio, rate);
      int piece = Math.max(1, (int) ((long) rate * feedMs / 1000));
      List<Map<String, Object>> partials = new ArrayList<>();
      long nanos = 0;
      String last = "";
      String text;
      long cacheBytes;
      String kind;
      StreamOptions options = streaming.options(chunk, rate);
      try (RecognizerStream stream = asr.openStream(options)) {
        cacheBytes = stream.cacheBytes();
        kind = stream.cacheKind().name().toLowerCase(Locale.ROOT);
        for (int start = 0; start < samples.length; start += piece) {
          float[] part = Arrays.copyOfRange(samples, start, Math.min(samples.length, start + piece));
          long t0 = System.nanoTime();
          String partial = stream.accept(part);
          nanos += System.nanoTime() - t0;
          if (!partial.equals(last)) {
            double at = (double) (start + part.length) / rate;
            System.out.printf(Locale.ROOT, "%7.2f s  %s%n", at, partial);
            partials.add(Map.of("audio_seconds", at, "text", partial));
            last = partial;
          }
        }
        long t0 = System.nanoTime();
        text = stream.finish().text();
        nanos += System.nanoTime() - t0;
      }
      double seconds = (double) samples.length / rate;
      System.out.println("final: " + text);
      System.err.printf(Locale.ROOT, "%.2f s of audio, %.3f s of compute (real-time factor %.3f); cache %.1f KiB once "
          + "its window is full (%s, %d + %d frames; it grows with the audio up to that)%n", seconds, nanos / 1e9,
          nanos / 1e9 / seconds, cacheBytes / 1024.0, kind, streaming.leftContext, chunk);
      if (jsonOut != null) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("model", model.toString());
        doc.put("audio", audio.toString());
        doc.put("chunk_frames", chunk);
        doc.put("left_context_frames", streaming.leftContext);
        doc.put("feed_ms", feedMs);
        doc.put("audio_seconds", seconds);
        doc.put("compute_seconds", nanos / 1e9);
        doc.put("real_time_factor", nanos / 1e9 / seconds);
        doc.put("cache", kind);
        doc.put("cache_bytes", cacheBytes);
        doc.put("partials", partials);
        doc.put("final", text);
        Json.write(jsonOut, doc);
      }
    }
    return 0;
  }
}

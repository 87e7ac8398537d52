package dev.mha2mla.cli;

import dev.mha2mla.StreamOptions;
import dev.mha2mla.model.Chunking;
import dev.mha2mla.model.StreamingCacheKind;
import java.io.IOException;
import java.util.List;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * What a stream keeps besides its chunk size, for every command that streams (a picocli mixin): the left context,
 * the cache kind and the fixed waveform statistics. Each command names its own chunk flag.
 */
final class StreamFlags {
  /** "auto" is null: the faster kind for the chunk size ({@link StreamingCacheKind#fastest}). */
  static final class CacheKind implements ITypeConverter<StreamingCacheKind>, Iterable<String> {
    @Override
    public StreamingCacheKind convert(String value) {
      return switch (value) {
        case "auto" -> null;
        case "kv" -> StreamingCacheKind.KEY_VALUE;
        case "latent" -> StreamingCacheKind.LATENT;
        default -> throw new TypeConversionException("must be auto, kv or latent, got '" + value + "'");
      };
    }

    @Override
    public java.util.Iterator<String> iterator() {
      return List.of("auto", "kv", "latent").iterator();
    }
  }

  @Option(names = "--left-context", defaultValue = "512", paramLabel = "FRAMES",
      description = "The most earlier frames a chunk attends to; the cache grows with it. Default: ${DEFAULT-VALUE}.")
  int leftContext;

  @Option(names = "--cache", defaultValue = "auto", paramLabel = "auto|kv|latent", converter = CacheKind.class,
      completionCandidates = CacheKind.class,
      description = "What a stream caches per frame: kv (K and V, 2d floats), latent (MLA models: r floats, absorbed "
          + "attention) or auto, the faster one for the chunk size on this device. Default: ${DEFAULT-VALUE}.")
  StreamingCacheKind cache;

  @Option(names = "--stream-normalization", paramLabel = "MEAN,STD|DATA", description = StreamNormalization.HELP)
  String normalization;

  @Spec(Spec.Target.MIXEE)
  CommandSpec spec;

  /** Checks the sizes before any work: a bad one is a usage error naming {@code chunkFlag} or --left-context. */
  void check(String chunkFlag, int chunkFrames) {
    Usage.require(spec, chunkFrames >= 1, chunkFlag + " must be at least 1 frame, got " + chunkFrames);
    Usage.require(spec, leftContext >= 0, "--left-context must be 0 or more frames, got " + leftContext);
    Usage.require(spec, (long) chunkFrames + leftContext <= Chunking.MAX_WINDOW,
        chunkFlag + " + --left-context is " + ((long) chunkFrames + leftContext) + " frames, more than 2^20");
  }

  /** The options of streams of {@code chunkFrames} for a model reading audio at {@code samplingRate}. */
  StreamOptions options(int chunkFrames, int samplingRate) throws IOException {
    return new StreamOptions(chunkFrames, leftContext, cache)
        .withNormalization(StreamNormalization.parse(normalization, samplingRate, spec));
  }
}

package dev.mha2mla.pipeline;

/**
 * What the report needs from a model's speed and memory benchmark.
 *
 * @param realTimeFactor median processing seconds per second of audio
 * @param realTimeFactorIqr interquartile range of the per-utterance real-time factors (timing spread)
 * @param peakNativeBytes peak resident memory increase around the timed calls (native, not JVM heap)
 * @param cacheBytesPerFramePerLayer attention cache a streaming decoder keeps (from the model's API)
 */
public record BenchmarkSummary(double realTimeFactor, double realTimeFactorIqr, long peakNativeBytes,
    long cacheBytesPerFramePerLayer, double[] utteranceSeconds, double[] latencySeconds) {}

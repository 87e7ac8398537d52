package dev.mha2mla.reliability;

import dev.mha2mla.io.Fixtures;
import dev.mha2mla.io.WavReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/** Audio for the recognizer tests: the fixture's two recordings and synthetic signals of other lengths, at 16 kHz. */
final class Utterances {
  static final int RATE = 16_000;

  private Utterances() {}

  /** The fixture's audio.wav (1.3 s). */
  static float[] fixtureAudio() {
    return wav("audio.wav");
  }

  /** Name to samples, in a fixed order: 0.3 s to 2 s, speech-like and not. */
  static Map<String, float[]> all() {
    Map<String, float[]> u = new LinkedHashMap<>();
    u.put("audio.wav", wav("audio.wav"));
    u.put("audio1.wav", wav("audio1.wav"));
    u.put("sweep 100-4000 Hz, 0.5 s", sweep(100, 4000, RATE / 2));
    u.put("white noise, 2 s", noise(2 * RATE, 7));
    u.put("sweep 3000-200 Hz, 1.1 s", sweep(3000, 200, RATE * 11 / 10));
    u.put("tone bursts in noise, 0.3 s", bursts(RATE * 3 / 10));
    return u;
  }

  // x(t) = 0.3 sin(2 pi (f0 t + (f1 - f0) t^2 / 2T)): the frequency glides linearly from f0 to f1 over T
  static float[] sweep(double f0, double f1, int n) {
    double duration = (double) n / RATE;
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      double t = (double) i / RATE;
      x[i] = (float) (0.3 * Math.sin(2 * Math.PI * (f0 * t + (f1 - f0) * t * t / (2 * duration))));
    }
    return x;
  }

  static float[] noise(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) x[i] = (float) (0.1 * (2 * r.nextDouble() - 1));
    return x;
  }

  // 440 Hz switched on and off every 50 ms, over low noise
  static float[] bursts(int n) {
    float[] x = noise(n, 11);
    for (int i = 0; i < n; i++) {
      if ((i / (RATE / 20)) % 2 == 0) x[i] += (float) (0.5 * Math.sin(2 * Math.PI * 440 * i / RATE));
    }
    return x;
  }

  private static float[] wav(String name) {
    try {
      return WavReader.read(Fixtures.conformerTiny().resolve(name)).samples();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}

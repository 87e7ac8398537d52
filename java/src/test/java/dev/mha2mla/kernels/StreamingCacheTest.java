package dev.mha2mla.kernels;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Device;
import org.bytedeco.pytorch.NoGradGuard;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Streaming caches: a random utterance streamed chunk by chunk through a cache gives, for every chunk, what
 * {@link FusedAttention} gives over the same window of keys taken straight from the utterance (Tk = window frames,
 * qOffset = Tk - chunk). With and without a left-context limit that evicts frames.
 */
class StreamingCacheTest {
  private static final int T = 37, H = 2, DH = 8, R = 16, LAYERS = 2;

  private static Tensor randn(long... shape) {
    return torch.randn(shape).mul(new Scalar(0.5));
  }

  private static double maxAbsDiff(Tensor a, Tensor b) {
    return a.sub(b).abs().max().item_double();
  }

  /** The left context limit of a case: the whole utterance, or 9 frames plus the chunk (evictions). */
  private static int window(int chunk, boolean evicting) {
    return evicting ? 9 + chunk : T;
  }

  /** The same latent size r in each of {@code layers} layers. */
  private static int[] sizes(int layers, int r) {
    int[] out = new int[layers];
    java.util.Arrays.fill(out, r);
    return out;
  }

  @ParameterizedTest(name = "chunk={0} evicting={1}")
  @CsvSource({"1, false", "1, true", "4, false", "4, true", "16, false", "16, true"})
  void latentCacheMatchesLatentAttentionOverTheWindow(int chunk, boolean evicting) {
    checkLatentCache(chunk, evicting, sizes(LAYERS, R));
  }

  @ParameterizedTest(name = "chunk={0} evicting={1}")
  @CsvSource({"1, false", "4, true", "16, false"})
  void layersOfDifferentLatentSizesEachMatchTheirAttention(int chunk, boolean evicting) {
    checkLatentCache(chunk, evicting, new int[] {R, 5, 24});
  }

  @Test
  void aLayersLatentSizeIsItsOwn() {
    try (PointerScope scope = new PointerScope(); LatentCache cache = LatentCache.create(new Device("cpu"), new int[] {16, 5, 24}, 8)) {
      assertThat(cache.bytesPerFrame()).isEqualTo(4L * (16 + 5 + 24));
      assertThat(cache.latentSize(1)).isEqualTo(5);
      assertThatThrownBy(() -> cache.append(1, randn(1, 2, 16))).hasMessageContaining("c");
      cache.append(2, randn(1, 3, 24));
      assertThat(cache.frames(2)).isEqualTo(3);
      assertThat(cache.frames(1)).isZero();
    }
  }

  private static void checkLatentCache(int chunk, boolean evicting, int[] r) {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      torch.manual_seed(100 + chunk);
      int maxFrames = window(chunk, evicting);
      int layers = r.length;
      Tensor[] c = new Tensor[layers], qa = new Tensor[layers], qw = new Tensor[layers];
      for (int l = 0; l < layers; l++) {
        c[l] = randn(1, T, r[l]);
        qa[l] = randn(1, H, T, r[l]).mul(new Scalar(0.5));
        qw[l] = randn(1, H, T, DH);
      }
      // one p table for every window: deltas -(chunk-1) .. maxFrames-1, HF layout (row m is delta zeroRow - m)
      int zeroRow = maxFrames - 1;
      Tensor p = randn(maxFrames + chunk - 1, (long) H * DH);
      double scale = 1 / Math.sqrt(DH);
      try (LatentCache cache = LatentCache.create(new Device("cpu"), r, maxFrames)) {
        for (int t0 = 0; t0 < T; t0 += chunk) {
          int s = Math.min(chunk, T - t0), end = t0 + s, n = Math.min(end, maxFrames), first = end - n;
          for (int l = 0; l < layers; l++) {
            cache.append(l, c[l].narrow(1, t0, s));
            assertThat(cache.frames(l)).isEqualTo(n);
            assertThat(cache.firstPosition(l)).isEqualTo(first);
            Tensor z = cache.attend(l, qa[l].narrow(2, t0, s), qw[l].narrow(2, t0, s), p, zeroRow, scale);
            Tensor expected = FusedAttention.latentAttention(qa[l].narrow(2, t0, s), c[l].narrow(1, first, n),
                qw[l].narrow(2, t0, s), p, null, zeroRow, n - s, scale);
            assertThat(maxAbsDiff(z, expected)).as("chunk at %d, layer %d", t0, l).isLessThan(1e-5);
          }
        }
      }
    }
  }

  @ParameterizedTest(name = "chunk={0} evicting={1}")
  @CsvSource({"1, false", "1, true", "4, false", "4, true", "16, false", "16, true"})
  void keyValueCacheMatchesRelposAttentionOverTheWindow(int chunk, boolean evicting) {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      torch.manual_seed(200 + chunk);
      int maxFrames = window(chunk, evicting);
      Tensor[] k = new Tensor[LAYERS], v = new Tensor[LAYERS], q = new Tensor[LAYERS];
      for (int l = 0; l < LAYERS; l++) {
        // [1, H, T, dh] views of [1, T, H, dh], the layout a linear layer produces
        k[l] = randn(1, T, H, DH).permute(0, 2, 1, 3);
        v[l] = randn(1, T, H, DH).permute(0, 2, 1, 3);
        q[l] = randn(1, H, T, DH).mul(new Scalar(4));
      }
      Tensor u = randn(H, DH), w = randn(H, DH);
      int zeroRow = maxFrames - 1;
      Tensor p = randn(maxFrames + chunk - 1, (long) H * DH);
      double scale = 1 / Math.sqrt(DH);
      try (KeyValueCache cache = KeyValueCache.create(new Device("cpu"), LAYERS, H, DH, maxFrames)) {
        for (int t0 = 0; t0 < T; t0 += chunk) {
          int s = Math.min(chunk, T - t0), end = t0 + s, n = Math.min(end, maxFrames), first = end - n;
          for (int l = 0; l < LAYERS; l++) {
            cache.append(l, k[l].narrow(2, t0, s), v[l].narrow(2, t0, s));
            Tensor out = cache.attend(l, q[l].narrow(2, t0, s), p, u, w, zeroRow, scale);
            Tensor expected = FusedAttention.relposAttention(q[l].narrow(2, t0, s), k[l].narrow(2, first, n),
                v[l].narrow(2, first, n), p, u, w, null, zeroRow, n - s, scale);
            assertThat(maxAbsDiff(out, expected)).as("chunk at %d, layer %d", t0, l).isLessThan(1e-5);
          }
        }
      }
    }
  }

  @Test
  void aBatchOfSessionsEqualsEachSessionAlone() {
    // three sessions whose windows differ (5, 12 and 19 frames in before the batch starts), one attend per step
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      torch.manual_seed(7);
      int sessions = 3, chunk = 4, maxFrames = 24;
      Tensor p = randn(maxFrames + chunk - 1, (long) H * DH);
      List<LatentCache> latent = new ArrayList<>();
      List<KeyValueCache> kv = new ArrayList<>();
      try {
        for (int b = 0; b < sessions; b++) {
          latent.add(LatentCache.create(new Device("cpu"), sizes(1, R), maxFrames));
          kv.add(KeyValueCache.create(new Device("cpu"), 1, H, DH, maxFrames));
          latent.get(b).append(0, randn(1, 5 + 7 * b, R));
          kv.get(b).append(0, randn(1, H, 5 + 7 * b, DH), randn(1, H, 5 + 7 * b, DH));
        }
        Tensor u = randn(H, DH), w = randn(H, DH);
        for (int step = 0; step < 4; step++) {
          for (int b = 0; b < sessions; b++) {
            latent.get(b).append(0, randn(1, chunk, R));
            kv.get(b).append(0, randn(1, H, chunk, DH), randn(1, H, chunk, DH));
          }
          Tensor qa = randn(sessions, H, chunk, R), qw = randn(sessions, H, chunk, DH), q = randn(sessions, H, chunk, DH);
          Tensor z = LatentCache.attend(latent, 0, qa, qw, p, maxFrames - 1, 0.3);
          Tensor out = KeyValueCache.attend(kv, 0, q, p, u, w, maxFrames - 1, 0.3);
          for (int b = 0; b < sessions; b++) {
            Tensor alone = latent.get(b).attend(0, qa.narrow(0, b, 1), qw.narrow(0, b, 1), p, maxFrames - 1, 0.3);
            assertThat(maxAbsDiff(z.narrow(0, b, 1), alone)).isLessThan(1e-6);
            Tensor kvAlone = kv.get(b).attend(0, q.narrow(0, b, 1), p, u, w, maxFrames - 1, 0.3);
            assertThat(maxAbsDiff(out.narrow(0, b, 1), kvAlone)).isLessThan(1e-6);
          }
        }
        assertThat(latent.get(2).frames(0)).isEqualTo(maxFrames);
        assertThat(latent.get(2).firstPosition(0)).isEqualTo(19 + 16 - maxFrames);
      } finally {
        latent.forEach(LatentCache::close);
        kv.forEach(KeyValueCache::close);
      }
    }
  }

  @Test
  void bytesPerFrameIsWhatReportsQuote() {
    // flagship: 24 layers, d = 1024 (16 heads of 64), r = d/2 = 512: MLA caches 4x fewer bytes per frame than MHA
    try (PointerScope scope = new PointerScope();
        LatentCache latent = LatentCache.create(new Device("cpu"), sizes(24, 512), 10);
        KeyValueCache kv = KeyValueCache.create(new Device("cpu"), 24, 16, 64, 10)) {
      assertThat(latent.bytesPerFrame()).isEqualTo(24L * 512 * 4);
      assertThat(kv.bytesPerFrame()).isEqualTo(24L * 2 * 1024 * 4);
      assertThat(kv.bytesPerFrame()).isEqualTo(4 * latent.bytesPerFrame());
      assertThat(latent.bytes()).isEqualTo(10 * latent.bytesPerFrame());
    }
  }

  @Test
  void resetForgetsTheFramesAndPositions() {
    try (PointerScope scope = new PointerScope(); LatentCache cache = LatentCache.create(new Device("cpu"), sizes(1, R), 8)) {
      cache.append(0, randn(1, 20, R));
      assertThat(cache.frames(0)).isEqualTo(8);
      assertThat(cache.firstPosition(0)).isEqualTo(12);
      cache.reset();
      assertThat(cache.frames(0)).isZero();
      assertThat(cache.firstPosition(0)).isZero();
    }
  }

  @Test
  void creatingAndClosingAThousandCachesDoesNotGrowNativeMemory() throws IOException {
    // each cache fills 2 layers x 1024 frames x 64 floats = 512 KiB: left open, 1,000 would hold 500 MiB
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      Device cpu = new Device("cpu");
      Tensor c = randn(1, 1024, 64);
      Runnable oneCache = () -> {
        try (LatentCache cache = LatentCache.create(cpu, sizes(2, 64), 1024)) {
          cache.append(0, c);
          cache.append(1, c);
        }
      };
      for (int i = 0; i < 50; i++) oneCache.run();  // warm up allocator arenas and the JIT
      long before = residentKiB();
      for (int i = 0; i < 1000; i++) oneCache.run();
      long grown = residentKiB() - before;
      assertThat(grown).as("VmRSS growth, KiB").isLessThan(32 * 1024);
    }
  }

  private static long residentKiB() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
    }
    throw new IllegalStateException("no VmRSS in /proc/self/status");
  }

  @Test
  void misuseIsAnErrorNotACrash() {
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      LatentCache cache = LatentCache.create(new Device("cpu"), sizes(2, R), 8);
      cache.append(0, randn(1, 3, R));
      Tensor p = randn(20, (long) H * DH);
      assertThatThrownBy(() -> cache.attend(0, randn(1, H, 4, R), randn(1, H, 4, DH), p, 10, 1))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("append the chunk before attending");
      assertThatThrownBy(() -> cache.attend(0, randn(1, H, 2, R), randn(1, H, 2, DH), p, 0, 1))
          .isInstanceOf(KernelException.class).hasMessageContaining("mla_latent_cache_attend_f32");  // no p row for delta 2
      assertThatThrownBy(() -> cache.append(0, randn(1, 3, R + 1)))
          .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("expected [1, 3, 16]");
      assertThatThrownBy(() -> cache.append(2, randn(1, 3, R))).isInstanceOf(IndexOutOfBoundsException.class);
      assertThatThrownBy(() -> LatentCache.create(new Device("cpu"), sizes(1, R), 0))
          .isInstanceOf(KernelException.class).hasMessageContaining("invalid argument");
      cache.close();
      cache.close();
      assertThat(cache.isClosed()).isTrue();
      assertThatThrownBy(() -> cache.frames(0)).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }
  }

  @Test
  void cudaCachesMatchCpuCaches() {
    assumeTrue(FusedAttention.cudaUsable(), "no CUDA kernels or GPU here");
    try (PointerScope scope = new PointerScope(); NoGradGuard g = new NoGradGuard()) {
      torch.manual_seed(3);
      Device gpu = new Device("cuda");
      int chunk = 4, maxFrames = 300, frames = 600, heads = 16, dh = 64, r = 512;
      Tensor c = randn(1, frames, r), k = randn(1, heads, frames, dh), v = randn(1, heads, frames, dh);
      Tensor qa = randn(1, heads, frames, r).mul(new Scalar(0.1)), q = randn(1, heads, frames, dh);
      Tensor p = randn(maxFrames + chunk - 1, (long) heads * dh), u = randn(heads, dh), w = randn(heads, dh);
      try (LatentCache lc = LatentCache.create(new Device("cpu"), sizes(1, r), maxFrames);
          LatentCache lg = LatentCache.create(gpu, sizes(1, r), maxFrames);
          KeyValueCache kc = KeyValueCache.create(new Device("cpu"), 1, heads, dh, maxFrames);
          KeyValueCache kg = KeyValueCache.create(gpu, 1, heads, dh, maxFrames)) {
        for (int t0 = 0; t0 < frames; t0 += chunk) {
          Tensor cc = c.narrow(1, t0, chunk), kk = k.narrow(2, t0, chunk), vv = v.narrow(2, t0, chunk);
          Tensor qq = q.narrow(2, t0, chunk), aa = qa.narrow(2, t0, chunk);
          lc.append(0, cc);
          lg.append(0, cc.cuda());
          kc.append(0, kk, vv);
          kg.append(0, kk.cuda(), vv.cuda());
          Tensor zc = lc.attend(0, aa, qq, p, maxFrames - 1, 0.125);
          Tensor zg = lg.attend(0, aa.cuda(), qq.cuda(), p.cuda(), maxFrames - 1, 0.125).cpu();
          assertThat(maxAbsDiff(zc, zg)).isLessThan(1e-4);
          Tensor oc = kc.attend(0, qq, p, u, w, maxFrames - 1, 0.125);
          Tensor og = kg.attend(0, qq.cuda(), p.cuda(), u.cuda(), w.cuda(), maxFrames - 1, 0.125).cpu();
          assertThat(maxAbsDiff(oc, og)).isLessThan(1e-4);
        }
      }
    }
  }
}

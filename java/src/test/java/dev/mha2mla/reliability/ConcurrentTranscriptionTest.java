package dev.mha2mla.reliability;

import static org.assertj.core.api.Assertions.assertThat;

import dev.mha2mla.SpeechRecognizer;
import dev.mha2mla.SpeechRecognizer.Transcript;
import dev.mha2mla.io.Fixtures;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link SpeechRecognizer} is documented thread-safe: eight threads sharing one recognizer must get exactly
 * (bit for bit, logits included) what one thread gets doing the same work alone, one utterance at a time or
 * in batches. Each thread starts at a different utterance, so different inputs run side by side.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class ConcurrentTranscriptionTest {
  private static final int THREADS = 8;
  private static final int ROUNDS = 3;
  private static final int BATCH = 3;

  private static SpeechRecognizer asr;
  private static List<String> names;
  private static List<float[]> utterances;
  private static List<Transcript> alone;
  private static List<Transcript> aloneBatched;

  @BeforeAll
  static void transcribeSequentially() throws IOException {
    // a fixed thread count (the library's default): in-process CLI tests before this one may have left it adaptive
    dev.mha2mla.model.CpuThreads.configure(0);
    asr = SpeechRecognizer.open(Fixtures.conformerTiny());
    Map<String, float[]> all = Utterances.all();
    names = new ArrayList<>(all.keySet());
    utterances = new ArrayList<>(all.values());
    alone = new ArrayList<>();
    for (float[] u : utterances) alone.add(asr.transcribeAll(List.of(u), 1).get(0));
    aloneBatched = asr.transcribeAll(utterances, BATCH);
  }

  @AfterAll
  static void close() {
    if (asr != null) asr.close();
  }

  @Test
  void eightThreadsGetWhatOneThreadGets() throws Exception {
    List<String> mismatches = runConcurrently(thread -> {
      List<String> bad = new ArrayList<>();
      for (int round = 0; round < ROUNDS; round++) {
        for (int k = 0; k < utterances.size(); k++) {
          int u = (thread + k) % utterances.size();
          Transcript t = asr.transcribeAll(List.of(utterances.get(u)), 1).get(0);
          if (!same(t, alone.get(u))) bad.add("thread " + thread + ", round " + round + ": " + names.get(u));
        }
      }
      return bad;
    });
    assertThat(mismatches).isEmpty();
  }

  @Test
  void eightThreadsGetWhatOneThreadGetsInBatches() throws Exception {
    List<String> mismatches = runConcurrently(thread -> {
      List<String> bad = new ArrayList<>();
      for (int round = 0; round < ROUNDS; round++) {
        List<Transcript> batched = asr.transcribeAll(utterances, BATCH);
        for (int u = 0; u < utterances.size(); u++) {
          if (!same(batched.get(u), aloneBatched.get(u))) {
            bad.add("thread " + thread + ", round " + round + ": " + names.get(u));
          }
        }
      }
      return bad;
    });
    assertThat(mismatches).isEmpty();
  }

  /**
   * close() while eight threads transcribe: it waits for the calls in progress, which finish with the right
   * result (were the weights freed under them, they would read freed memory), and every later call is refused
   * with a clear error instead.
   */
  @Test
  void closeWaitsForCallsInProgressThenRefusesNewOnes() throws Exception {
    SpeechRecognizer own = SpeechRecognizer.open(Fixtures.conformerTiny());
    java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
    java.util.concurrent.atomic.AtomicInteger refused = new java.util.concurrent.atomic.AtomicInteger();
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    try {
      List<Future<List<String>>> futures = new ArrayList<>();
      for (int i = 0; i < THREADS; i++) {
        int thread = i;
        futures.add(pool.submit(() -> {
          List<String> bad = new ArrayList<>();
          for (int k = 0; ; k++) {
            int u = (thread + k) % utterances.size();
            Transcript t;
            try {
              t = own.transcribeAll(List.of(utterances.get(u)), 1).get(0);
            } catch (IllegalStateException e) {
              if (!e.getMessage().contains("closed")) bad.add("thread " + thread + ": " + e);
              refused.incrementAndGet();
              return bad;
            }
            if (!same(t, alone.get(u))) bad.add("thread " + thread + ": " + names.get(u));
            done.incrementAndGet();
          }
        }));
      }
      while (done.get() < 2 * THREADS) Thread.sleep(1);
      own.close();
      List<String> mismatches = new ArrayList<>();
      for (Future<List<String>> f : futures) mismatches.addAll(f.get(1, TimeUnit.MINUTES));
      assertThat(mismatches).isEmpty();
      assertThat(refused.get()).isEqualTo(THREADS);
      assertThat(own.model().weights().values()).allMatch(t -> t.isNull());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void theUtterancesDifferSoTheComparisonMeansSomething() {
    assertThat(alone).extracting(t -> t.logits().length).doesNotHaveDuplicates();
  }

  private interface Work {
    List<String> run(int thread) throws Exception;
  }

  /** Runs {@code work} on {@value #THREADS} threads released together; returns every thread's mismatches. */
  private static List<String> runConcurrently(Work work) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(THREADS);
    try {
      CyclicBarrier start = new CyclicBarrier(THREADS);
      List<Future<List<String>>> futures = new ArrayList<>();
      for (int i = 0; i < THREADS; i++) {
        int thread = i;
        Callable<List<String>> task = () -> {
          start.await();
          return work.run(thread);
        };
        futures.add(pool.submit(task));
      }
      List<String> all = new ArrayList<>();
      for (Future<List<String>> f : futures) all.addAll(f.get());
      return all;
    } finally {
      pool.shutdownNow();
    }
  }

  // Bit-for-bit: floatToRawIntBits, so even -0.0 against 0.0 or two NaN payloads would count as different.
  private static boolean same(Transcript a, Transcript b) {
    if (!a.text().equals(b.text()) || a.logits().length != b.logits().length) return false;
    for (int t = 0; t < a.logits().length; t++) {
      float[] x = a.logits()[t];
      float[] y = b.logits()[t];
      if (x.length != y.length) return false;
      for (int v = 0; v < x.length; v++) {
        if (Float.floatToRawIntBits(x[v]) != Float.floatToRawIntBits(y[v])) return false;
      }
    }
    return true;
  }
}

package dev.mha2mla.reliability;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Deterministic byte-level mutations in the style of libFuzzer's (bit flips, "interesting" integers, cuts,
 * deletions, duplications, insertions), plus one for text formats: a run of digits replaced by an extreme
 * number, which keeps JSON valid and reaches the checks behind the parser. Positions fall in the first
 * {@code focus} bytes three times out of four, because headers are where parsers decide what to allocate.
 * The same seed gives the same sequence of inputs, so a failure names a reproducible input index.
 */
final class Mutator {
  private static final long[] INTERESTING = {
    0, 1, -1, 2, 7, 8, 16, 127, 128, 255, 256, 0x7fff, 0x8000, 0xffff, 0x10000, Integer.MAX_VALUE,
    Integer.MIN_VALUE, 0xffffffffL, 1L << 32, 1L << 40, Long.MAX_VALUE, Long.MIN_VALUE, Long.MAX_VALUE / 2
  };
  private static final String[] NUMBERS = {
    "0", "-1", "1", "4294967295", "4294967296", "2147483647", "2147483648", "9223372036854775807",
    "9223372036854775808", "18446744073709551615", "99999999999999999999999999", "1e308", "1e400", "-0", "0.5"
  };

  private final SplittableRandom random;
  private final int focus;

  Mutator(long seed, int focus) {
    this.random = new SplittableRandom(seed);
    this.focus = Math.max(1, focus);
  }

  /** One to four mutations of {@code seed} (which is not modified). */
  byte[] mutate(byte[] seed) {
    byte[] out = seed;
    int rounds = 1 + random.nextInt(4);
    for (int i = 0; i < rounds; i++) out = mutateOnce(out);
    return out;
  }

  private byte[] mutateOnce(byte[] in) {
    if (in.length == 0) return randomBytes(1 + random.nextInt(16));
    byte[] out = in.clone();
    switch (random.nextInt(9)) {
      case 0 -> out[position(out.length)] ^= (byte) (1 << random.nextInt(8));
      case 1 -> out[position(out.length)] = (byte) INTERESTING[random.nextInt(INTERESTING.length)];
      case 2 -> {
        int width = new int[] {2, 4, 8}[random.nextInt(3)];
        if (out.length < width) return out;
        int at = Math.min(position(out.length), out.length - width);
        ByteBuffer b = ByteBuffer.wrap(out).order(random.nextBoolean() ? ByteOrder.LITTLE_ENDIAN : ByteOrder.BIG_ENDIAN);
        long v = INTERESTING[random.nextInt(INTERESTING.length)];
        switch (width) {
          case 2 -> b.putShort(at, (short) v);
          case 4 -> b.putInt(at, (int) v);
          default -> b.putLong(at, v);
        }
      }
      case 3 -> out = Arrays.copyOf(out, position(out.length)); // truncation
      case 4 -> { // delete a range
        int from = position(out.length);
        int to = Math.min(out.length, from + 1 + random.nextInt(64));
        out = concat(Arrays.copyOf(out, from), Arrays.copyOfRange(out, to, out.length));
      }
      case 5 -> { // duplicate a range somewhere else
        int from = random.nextInt(out.length);
        int len = Math.min(out.length - from, 1 + random.nextInt(64));
        int at = position(out.length);
        out = concat(Arrays.copyOf(out, at), Arrays.copyOfRange(in, from, from + len),
            Arrays.copyOfRange(out, at, out.length));
      }
      case 6 -> { // insert random bytes
        int at = position(out.length);
        out = concat(Arrays.copyOf(out, at), randomBytes(1 + random.nextInt(16)), Arrays.copyOfRange(out, at, out.length));
      }
      case 7 -> out = replaceNumber(out);
      default -> out[random.nextInt(out.length)] = (byte) random.nextInt(256); // anywhere, even past the focus
    }
    return out;
  }

  private int position(int length) {
    return random.nextInt(4) == 0 ? random.nextInt(length) : random.nextInt(Math.min(length, focus));
  }

  // Replaces the run of ASCII digits at or after a random position (inside the focus) with an extreme number.
  private byte[] replaceNumber(byte[] in) {
    int start = position(in.length);
    while (start < in.length && !isDigit(in[start])) start++;
    if (start == in.length) return in;
    int end = start;
    while (end < in.length && isDigit(in[end])) end++;
    byte[] number = NUMBERS[random.nextInt(NUMBERS.length)].getBytes(StandardCharsets.US_ASCII);
    return concat(Arrays.copyOf(in, start), number, Arrays.copyOfRange(in, end, in.length));
  }

  private static boolean isDigit(byte b) {
    return b >= '0' && b <= '9';
  }

  private byte[] randomBytes(int n) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) b[i] = (byte) random.nextInt(256);
    return b;
  }

  private static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) n += p.length;
    byte[] out = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }
}

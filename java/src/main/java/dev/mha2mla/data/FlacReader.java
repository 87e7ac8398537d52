package dev.mha2mla.data;

import dev.mha2mla.io.AudioLimits;
import dev.mha2mla.io.AudioTooLongException;
import dev.mha2mla.io.MalformedFileException;
import dev.mha2mla.io.UnsupportedAudioException;
import dev.mha2mla.io.WavAudio;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jflac.FLACDecoder;
import org.jflac.FrameListener;
import org.jflac.PCMProcessor;
import org.jflac.frame.Frame;
import org.jflac.metadata.Metadata;
import org.jflac.metadata.StreamInfo;
import org.jflac.util.ByteData;

/**
 * Reads 16-bit mono FLAC files (LibriSpeech's format) with the jflac decoder. Samples are the PCM
 * values divided by 32768, as for {@link dev.mha2mla.io.WavReader}, so a WAV file and its FLAC
 * encoding read to identical arrays.
 *
 * <p>jflac skips undecodable frames, and zeroes a frame whose CRC-16 does not match, with only a
 * callback to say so; here the first such report stops decoding with an error, and so does a stream
 * that ends before the sample count its STREAMINFO block declares. A damaged file is never returned
 * as silence or as shorter audio. jflac prints a line to standard output for each escape-coded
 * residual partition it meets (libFLAC's encoder does not write them by default, damaged files can
 * contain them); {@link JflacOutput} keeps those lines away from the caller's output.
 *
 * <p>Memory is bounded by {@link AudioLimits#MAX_SECONDS}: a STREAMINFO block declaring more is refused
 * before decoding, and decoding stops once that many samples are out (a file that declares no length,
 * or holds more frames than it declares).
 */
public final class FlacReader {
  private static final String CONVERT = "sox in.flac -b 16 -c 1 out.flac";

  private FlacReader() {}

  /** What a FLAC file's STREAMINFO block declares; {@code totalSamples} 0 means unknown. */
  public record Header(int sampleRate, int channels, int bitsPerSample, long totalSamples) {
    public double durationSeconds() {
      return (double) totalSamples / sampleRate;
    }
  }

  /** Reads only the STREAMINFO block: cheap, and enough for durations. */
  public static Header header(Path path) throws IOException {
    try (InputStream in = new BufferedInputStream(Files.newInputStream(path), 4096)) {
      StreamInfo info;
      try {
        info = new FLACDecoder(onlyStreamInfo(in)).readStreamInfo();
      } catch (IOException | RuntimeException e) {
        throw new MalformedFileException(path, "not a FLAC file or no readable STREAMINFO block (" + e + ")", e);
      }
      return new Header(info.getSampleRate(), info.getChannels(), info.getBitsPerSample(), info.getTotalSamples());
    }
  }

  /**
   * @throws MalformedFileException if the file is not FLAC, is truncated, or has a corrupt frame
   * @throws UnsupportedAudioException for valid FLAC that is not 16-bit mono
   */
  public static WavAudio read(Path path) throws IOException {
    try (InputStream in = new BufferedInputStream(Files.newInputStream(path), 1 << 16)) {
      return decode(path, in);
    } catch (RuntimeException e) {
      // jflac reports some malformed streams only by indexing past its buffers
      throw new MalformedFileException(path, "corrupt FLAC stream (" + e + ")", e);
    }
  }

  private static WavAudio decode(Path path, InputStream in) throws IOException {
    in.mark(4);
    byte[] magic = in.readNBytes(4);
    in.reset();
    if (magic.length < 4 || magic[0] != 'f' || magic[1] != 'L' || magic[2] != 'a' || magic[3] != 'C') {
      throw new MalformedFileException(path, "not a FLAC file (no 'fLaC' marker at the start)");
    }
    FLACDecoder decoder;
    StreamInfo info;
    try {
      decoder = new FLACDecoder(onlyStreamInfo(in));
      info = decoder.readStreamInfo();
      decoder.readMetadata(info);
    } catch (java.io.EOFException e) {
      throw new MalformedFileException(path, "the file ends inside its metadata blocks: truncated");
    } catch (IOException e) {
      throw new MalformedFileException(path, "unreadable FLAC metadata: " + e.getMessage(), e);
    }
    if (info.getSampleRate() <= 0) throw new MalformedFileException(path, "STREAMINFO declares a sample rate of 0 Hz");
    if (info.getChannels() != 1) {
      throw new UnsupportedAudioException(path, info.getChannels() + " channels; only mono is supported, convert: "
          + CONVERT);
    }
    if (info.getBitsPerSample() != 16) {
      throw new UnsupportedAudioException(path, info.getBitsPerSample() + "-bit FLAC; only 16-bit is supported, "
          + "convert: " + CONVERT);
    }
    // a declared total of 0 means "unknown" in the FLAC format
    long declared = info.getTotalSamples();
    AudioLimits.check(path, declared, info.getSampleRate());
    Samples samples = new Samples(declared, Files.size(path), AudioLimits.maxSamples(info.getSampleRate()));
    decoder.addPCMProcessor(samples);
    decoder.addFrameListener(new FrameListener() {
      @Override
      public void processMetadata(Metadata metadata) {}

      @Override
      public void processFrame(Frame frame) {}

      // jflac would log the problem and go on; a damaged stream can then loop without end
      @Override
      public void processError(String message) {
        throw new StopDecoding(message);
      }
    });
    try {
      JflacOutput.silenced(decoder::decodeFrames);
    } catch (TooManySamples e) {
      if (declared > 0) {
        throw new MalformedFileException(path, "the frames hold more than the " + declared
            + " samples that STREAMINFO declares");
      }
      throw new AudioTooLongException(path, "more than " + AudioLimits.describe(samples.max, info.getSampleRate())
          + " (STREAMINFO leaves the length unknown), longer than the " + AudioLimits.MAX_SECONDS
          + " s that one call transcribes; cut it into pieces first");
    } catch (StopDecoding stop) {
      boolean complete = declared > 0 && samples.count >= declared;
      // bytes after the last frame (an ID3v1 tag, say) are not audio and not an error
      if (!complete && stop.getMessage().contains("EOFException")) {
        throw new MalformedFileException(path, "the file is truncated: the data ends inside a frame after "
            + samples.count + (declared > 0 ? " of the " + declared + " samples that STREAMINFO declares" : " samples"));
      }
      if (!complete) {
        throw new MalformedFileException(path, "corrupt FLAC frame after " + samples.count + " samples ("
            + stop.getMessage() + ")");
      }
    } catch (IOException e) {
      throw new MalformedFileException(path, "unreadable FLAC stream after " + samples.count + " samples: " + e, e);
    }
    if (declared > 0 && samples.count > declared) {
      throw new MalformedFileException(path, "the frames hold more than the " + declared
          + " samples that STREAMINFO declares (" + samples.count + " decoded)");
    }
    if (declared > 0 && samples.count != declared) {
      throw new MalformedFileException(path, "STREAMINFO declares " + declared + " samples but " + samples.count
          + " were decoded: the file is truncated");
    }
    if (samples.count == 0) throw new MalformedFileException(path, "no audio frames");
    return new WavAudio(info.getSampleRate(), 1, 16, samples.toArray());
  }

  /**
   * The stream with every metadata block but STREAMINFO skipped unparsed, and STREAMINFO marked as the last.
   * jflac allocates what the counts inside blocks such as VORBIS_COMMENT say before reading them (2^31
   * comments: OutOfMemoryError from an 8 KB file); decoding needs none of those blocks.
   */
  private static InputStream onlyStreamInfo(InputStream in) throws IOException {
    byte[] magic = in.readNBytes(4);
    byte[] streamInfo = null;
    boolean last = false;
    while (!last) {
      byte[] header = in.readNBytes(4);
      if (header.length < 4) throw new EOFException();
      last = (header[0] & 0x80) != 0;
      int length = (header[1] & 0xFF) << 16 | (header[2] & 0xFF) << 8 | (header[3] & 0xFF);
      if (streamInfo == null) {
        if ((header[0] & 0x7F) != 0) throw new IOException("the first metadata block is not STREAMINFO");
        streamInfo = in.readNBytes(length); // allocates only as much as the file holds
        if (streamInfo.length < length) throw new EOFException();
      } else {
        in.skipNBytes(length);
      }
    }
    byte[] head = new byte[8 + streamInfo.length];
    System.arraycopy(magic, 0, head, 0, 4);
    head[4] = (byte) 0x80;
    head[5] = (byte) (streamInfo.length >> 16);
    head[6] = (byte) (streamInfo.length >> 8);
    head[7] = (byte) streamInfo.length;
    System.arraycopy(streamInfo, 0, head, 8, streamInfo.length);
    return new SequenceInputStream(new ByteArrayInputStream(head), in);
  }

  private static final class StopDecoding extends RuntimeException {
    private static final long serialVersionUID = 1L;

    StopDecoding(String message) {
      super(message, null, false, false);
    }
  }

  /** A decoding step that may throw what jflac throws. */
  private interface Decoding {
    void run() throws IOException;
  }

  /**
   * Keeps jflac's diagnostics off standard output, where transcripts go: jflac's residual decoder prints
   * "readResidual elsecase" with System.out.println for every escape-coded partition. System.out is replaced, once,
   * by a stream that drops what the threads decoding FLAC at that moment write and passes everything else to the
   * stream it replaced, so other threads' output is untouched. If someone installs another System.out later, the
   * next decode wraps that one.
   */
  static final class JflacOutput extends java.io.OutputStream {
    private static final ThreadLocal<Boolean> DECODING = ThreadLocal.withInitial(() -> false);
    private final java.io.PrintStream target;

    private JflacOutput(java.io.PrintStream target) {
      this.target = target;
    }

    static void silenced(Decoding body) throws IOException {
      install();
      boolean outer = DECODING.get();
      DECODING.set(true);
      try {
        body.run();
      } finally {
        DECODING.set(outer);
      }
    }

    private static synchronized void install() {
      java.io.PrintStream out = System.out;
      if (out instanceof Guard) return;
      System.setOut(new Guard(new JflacOutput(out), out));
    }

    @Override
    public void write(int b) {
      if (!DECODING.get()) target.write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) {
      if (!DECODING.get()) target.write(b, off, len);
    }

    @Override
    public void flush() {
      target.flush();
    }

    /** System.out while installed: encodes as the replaced stream did (its platform encoding), flushes on println. */
    private static final class Guard extends java.io.PrintStream {
      Guard(JflacOutput filter, java.io.PrintStream replaced) {
        super(filter, true, charset());
      }

      private static java.nio.charset.Charset charset() {
        String name = System.getProperty("stdout.encoding", System.getProperty("sun.stdout.encoding"));
        try {
          return name != null ? java.nio.charset.Charset.forName(name) : java.nio.charset.Charset.defaultCharset();
        } catch (IllegalArgumentException e) {
          return java.nio.charset.Charset.defaultCharset();
        }
      }
    }
  }

  private static final class TooManySamples extends RuntimeException {
    private static final long serialVersionUID = 1L;

    TooManySamples() {
      super(null, null, false, false);
    }
  }

  /**
   * Collects little-endian 16-bit PCM as floats, growing like an ArrayList up to {@code max} samples. A constant
   * subframe codes a whole block in a few bytes, so a small file can hold hours of samples: the bound is on what is
   * decoded, not on the file's size.
   */
  private static final class Samples implements PCMProcessor {
    private float[] data;
    private int count;
    private final long max;

    // the declared length sizes the buffer only up to max, and to 8 samples per byte of file (speech compresses
    // to about 1): a damaged header must not allocate gigabytes, nor 100 MB for an 8 KB file
    Samples(long declared, long fileBytes, long max) {
      this.max = max;
      long cap = Math.min(max, Math.max(1 << 16, 8 * fileBytes));
      data = new float[(int) (declared > 0 ? Math.min(declared, cap) : Math.min(cap, 1 << 16))];
    }

    @Override
    public void processStreamInfo(StreamInfo info) {}

    @Override
    public void processPCM(ByteData pcm) {
      int n = pcm.getLen() / 2;
      if (count + n > max) throw new TooManySamples();
      if (count + n > data.length) {
        data = java.util.Arrays.copyOf(data, (int) Math.min(max, Math.max(count + n, 2L * data.length)));
      }
      byte[] b = pcm.getData();
      for (int i = 0; i < n; i++) {
        data[count++] = (short) ((b[2 * i] & 0xFF) | (b[2 * i + 1] << 8)) / 32768f;
      }
    }

    float[] toArray() {
      return count == data.length ? data : java.util.Arrays.copyOf(data, count);
    }
  }
}

package dev.mha2mla.data.synth;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The external programs that render synthetic speech: espeak-ng (formant synthesis at 22.05 kHz) and
 * sox (resampling to 16 kHz 16-bit mono FLAC). Both are byte-for-byte repeatable for a given version
 * once sox's dither is off ({@code -D}) and its random seed fixed ({@code -R}).
 */
public final class SpeechTools {
  public static final String INSTALL = "apt-get install -y espeak-ng sox";
  private static final long TIMEOUT_SECONDS = 120;

  /** A program the synthetic corpus needs is not installed. */
  public static final class MissingToolException extends IOException {
    private static final long serialVersionUID = 1L;

    MissingToolException(String tool) {
      super(tool + " is not installed; mha2mla synth needs espeak-ng and sox. Install them with: " + INSTALL
          + " (as root or with sudo; the mha2mla launcher does this itself when it can)");
    }
  }

  private final String espeakVersion;
  private final String soxVersion;

  private SpeechTools(String espeakVersion, String soxVersion) {
    this.espeakVersion = espeakVersion;
    this.soxVersion = soxVersion;
  }

  /** Checks that both programs run and records their versions. */
  public static SpeechTools find() throws IOException {
    // "eSpeak NG text-to-speech: 1.51  Data at: /usr/lib/..." -> keep the version, drop the machine's path
    String espeak = version("espeak-ng", "--version").replaceAll("\\s+Data at:.*", "").strip();
    String sox = version("sox", "--version").replaceFirst("^sox:\\s*", "").strip();
    return new SpeechTools(espeak, sox);
  }

  /** Whether both programs are on the PATH (for tests that need them). */
  public static boolean available() {
    try {
      find();
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  public String espeakVersion() {
    return espeakVersion;
  }

  public String soxVersion() {
    return soxVersion;
  }

  /** Renders one utterance to {@code flac}, using {@code scratch} for the intermediate 22.05 kHz WAV. */
  public void render(SyntheticUtterance u, Path flac, Path scratch) throws IOException {
    Path wav = scratch.resolve(u.id() + ".wav");
    try {
      run(List.of("espeak-ng", "-v", u.voice().espeakName(), "-s", Integer.toString(u.wordsPerMinute()),
          "-p", Integer.toString(u.pitch()), "-w", wav.toString(), u.spokenText()));
      run(List.of("sox", "-R", "-D", "-V1", wav.toString(), "-r", "16000", "-b", "16", "-c", "1", flac.toString()));
    } finally {
      java.nio.file.Files.deleteIfExists(wav);
    }
  }

  private static String version(String tool, String flag) throws IOException {
    try {
      return run(List.of(tool, flag)).lines().findFirst().orElse(tool);
    } catch (IOException e) {
      if (e.getMessage() != null && e.getMessage().contains("Cannot run program")) throw new MissingToolException(tool);
      throw e;
    }
  }

  private static String run(List<String> command) throws IOException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", command) + ": no result after " + TIMEOUT_SECONDS + " s");
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running " + command.get(0), e);
    }
    if (p.exitValue() != 0) {
      List<String> quoted = new ArrayList<>();
      for (String c : command) quoted.add(c.contains(" ") ? "'" + c + "'" : c);
      throw new IOException(String.join(" ", quoted) + " failed with exit code " + p.exitValue() + ": " + output.strip());
    }
    return output;
  }
}

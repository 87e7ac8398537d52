package dev.mha2mla.data;

import java.net.URISyntaxException;
import java.nio.file.Path;

/** The audio files under src/test/resources/data (see the README.md there). */
final class AudioFixtures {
  private AudioFixtures() {}

  static Path get(String name) {
    try {
      return Path.of(AudioFixtures.class.getResource("/data/" + name).toURI());
    } catch (URISyntaxException | NullPointerException e) {
      throw new IllegalStateException("test resource /data/" + name + " is missing", e);
    }
  }
}

package dev.mha2mla.reliability;

import dev.mha2mla.io.Fixtures;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * torch.save's layout, built in memory: a zip (entries STORED, as torch.save writes them) of
 * {@code <prefix>/data.pkl}, {@code <prefix>/data/<key>} per storage and {@code <prefix>/version}.
 */
final class TorchArchive {
  static final String PREFIX = "pytorch_model";

  private static Map<String, byte[]> fixtureStorages;

  private TorchArchive() {}

  static byte[] of(byte[] pickle, Map<String, byte[]> storages) {
    Map<String, byte[]> entries = new LinkedHashMap<>();
    entries.put(PREFIX + "/data.pkl", pickle);
    storages.forEach((key, bytes) -> entries.put(PREFIX + "/data/" + key, bytes));
    entries.put(PREFIX + "/version", "3\n".getBytes(StandardCharsets.US_ASCII));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ZipOutputStream zip = new ZipOutputStream(out)) {
      for (Map.Entry<String, byte[]> e : entries.entrySet()) {
        ZipEntry entry = new ZipEntry(e.getKey());
        entry.setMethod(ZipEntry.STORED);
        entry.setSize(e.getValue().length);
        CRC32 crc = new CRC32();
        crc.update(e.getValue());
        entry.setCrc(crc.getValue());
        zip.putNextEntry(entry);
        zip.write(e.getValue());
        zip.closeEntry();
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** An archive whose storages are those of the fixture's pytorch_model.bin, so a valid pickle loads. */
  static byte[] withFixtureStorages(byte[] pickle) {
    return of(pickle, fixtureStorages());
  }

  /** The fixture's data.pkl. */
  static byte[] fixturePickle() {
    return fixtureEntries().get(PREFIX + "/data.pkl");
  }

  private static synchronized Map<String, byte[]> fixtureStorages() {
    if (fixtureStorages == null) {
      Map<String, byte[]> storages = new LinkedHashMap<>();
      fixtureEntries().forEach((name, bytes) -> {
        if (name.startsWith(PREFIX + "/data/")) storages.put(name.substring((PREFIX + "/data/").length()), bytes);
      });
      fixtureStorages = storages;
    }
    return fixtureStorages;
  }

  private static Map<String, byte[]> fixtureEntries() {
    Map<String, byte[]> entries = new LinkedHashMap<>();
    try (ZipFile zip = new ZipFile(Fixtures.conformerTiny().resolve("pytorch_model.bin").toFile())) {
      for (ZipEntry e : java.util.Collections.list(zip.entries())) {
        entries.put(e.getName(), zip.getInputStream(e).readAllBytes());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return entries;
  }
}

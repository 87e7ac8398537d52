package dev.mha2mla.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Event files are TFRecords of Event protos that TensorBoard can read: checked by parsing them back by hand. */
class TensorBoardWriterTest {
  @Test
  void crc32cAndItsMaskFollowTheTfRecordSpecification() {
    CRC32C crc = new CRC32C();
    crc.update("123456789".getBytes(StandardCharsets.US_ASCII));
    assertThat(crc.getValue()).isEqualTo(0xE3069283L); // the standard CRC-32C check value
    int c = 0xE3069283;
    int masked = ((c >>> 15) | (c << 17)) + 0xa282ead8;
    assertThat(TfRecords.maskedCrc("123456789".getBytes(StandardCharsets.US_ASCII), 0, 9)).isEqualTo(masked);
  }

  @Test
  void writesFileVersionThenScalarEventsWithValidFraming(@TempDir Path dir) throws IOException {
    Path file;
    try (TensorBoardWriter w = TensorBoardWriter.create(dir)) {
      w.scalar("train/loss", 1, 12.5);
      w.scalar("valid/wer", 2, 0.25);
      file = w.file();
    }
    assertThat(file.getFileName().toString()).startsWith("events.out.tfevents.");
    byte[] bytes = Files.readAllBytes(file);

    // framing by hand: uint64 length, masked crc of those 8 bytes, data, masked crc of data
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int at = 0;
    int records = 0;
    while (at < bytes.length) {
      long length = b.getLong(at);
      assertThat(b.getInt(at + 8)).isEqualTo(TfRecords.maskedCrc(bytes, at, 8));
      assertThat(b.getInt(at + 12 + (int) length)).isEqualTo(TfRecords.maskedCrc(bytes, at + 12, (int) length));
      at += 16 + (int) length;
      records++;
    }
    assertThat(at).isEqualTo(bytes.length);
    assertThat(records).isEqualTo(3);

    List<byte[]> events = TfRecords.readAll(new ByteArrayInputStream(bytes));
    TensorBoardWriter.EventRecord version = TensorBoardWriter.EventRecord.parse(events.get(0));
    assertThat(version.fileVersion()).isEqualTo("brain.Event:2");
    assertThat(version.wallTime()).isGreaterThan(1.6e9);
    TensorBoardWriter.EventRecord loss = TensorBoardWriter.EventRecord.parse(events.get(1));
    assertThat(loss.step()).isEqualTo(1);
    assertThat(loss.tag()).isEqualTo("train/loss");
    assertThat(loss.value()).isEqualTo(12.5f);
    TensorBoardWriter.EventRecord wer = TensorBoardWriter.EventRecord.parse(events.get(2));
    assertThat(wer.step()).isEqualTo(2);
    assertThat(wer.tag()).isEqualTo("valid/wer");
    assertThat(wer.value()).isEqualTo(0.25f);

    // the Event's field layout: wall_time is field 1 as a 64-bit double (key 0x09), step field 2 varint (0x10)
    byte[] scalar = events.get(1);
    assertThat(scalar[0]).isEqualTo((byte) 0x09);
    assertThat(scalar[9]).isEqualTo((byte) 0x10);
    assertThat(scalar[10]).isEqualTo((byte) 1);
    assertThat(scalar[11]).isEqualTo((byte) 0x2a); // field 5 (summary), length-delimited
  }

  @Test
  void aCorruptedRecordIsDetected(@TempDir Path dir) throws IOException {
    Path file;
    try (TensorBoardWriter w = TensorBoardWriter.create(dir)) {
      w.scalar("x", 3, 1.0);
      file = w.file();
    }
    byte[] bytes = Files.readAllBytes(file);
    bytes[bytes.length - 6] ^= 1;
    assertThatThrownBy(() -> TfRecords.readAll(new ByteArrayInputStream(bytes))).hasMessageContaining("CRC");
  }

  @Test
  void truncationDropsEventsAfterAStepAndATornTail(@TempDir Path dir) throws IOException {
    Path file;
    try (TensorBoardWriter w = TensorBoardWriter.create(dir)) {
      for (int s = 1; s <= 6; s++) w.scalar("train/loss", s, s);
      file = w.file();
    }
    byte[] bytes = Files.readAllBytes(file);
    Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length - 3)); // a kill mid-record
    TensorBoardWriter.truncateAfter(dir, 4);
    List<byte[]> events = TfRecords.readAll(new ByteArrayInputStream(Files.readAllBytes(file)));
    assertThat(events).hasSize(5);
    assertThat(TensorBoardWriter.EventRecord.parse(events.get(4)).step()).isEqualTo(4);
  }
}

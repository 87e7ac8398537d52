package dev.mha2mla.io;

import java.io.BufferedOutputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes files and publishes folders so that a reader sees either the old content or the complete
 * new one, never a partial file, even if the process dies or the machine loses power midway.
 *
 * <p>The recipe: write a temporary sibling (same directory, hence same file system), flush it to
 * the disk ({@code fsync}), rename it over the target (rename is atomic on POSIX file systems),
 * then fsync the directory so the rename itself survives a crash. On any failure the temporary
 * file is deleted and the target is left as it was.
 */
public final class AtomicFiles {
  private static final Logger log = LoggerFactory.getLogger(AtomicFiles.class);

  private AtomicFiles() {
  }

  /**
   * Replaces {@code target} with the bytes {@code body} writes. The stream is buffered; the body may
   * close it or not.
   */
  public static void write(Path target, IOConsumer<OutputStream> body) throws IOException {
    Path dir = parentOf(target);
    Path temp = createSibling(dir, target.getFileName().toString(), ".tmp");
    try {
      try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE)) {
        OutputStream out = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16);
        body.accept(new CloseShield(out));
        out.flush();
        channel.force(true);
      }
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      deleteQuietly(temp, e);
      throw naming(target, e);
    } catch (RuntimeException | Error e) {
      deleteQuietly(temp, e);
      throw e;
    }
    syncDirectory(dir);
  }

  /**
   * The failure with the target in its message. The JDK reports a failed write() as a bare IOException ("No space
   * left on device", "Disk quota exceeded") naming no file, and a failure on the temporary sibling under the
   * sibling's hidden name; both are restated for the file the caller asked for.
   */
  private static IOException naming(Path target, IOException e) {
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    if (e instanceof MalformedFileException || message.contains(target.toString())) return e;
    if (e instanceof java.nio.file.FileSystemException fs) {
      message = fs.getReason() != null ? fs.getReason() : e.getClass().getSimpleName();
    }
    return new IOException(target + ": could not write the file: " + message, e);
  }

  /** Replaces {@code target} with {@code bytes}. */
  public static void write(Path target, byte[] bytes) throws IOException {
    write(target, out -> out.write(bytes));
  }

  /** Replaces {@code target} with {@code text} encoded as UTF-8. */
  public static void writeString(Path target, String text) throws IOException {
    write(target, text.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Publishes a folder that was built completely under another name, typically a sibling such as
   * {@code model.tmp-123} next to {@code model}. If {@code target} does not exist the folder is
   * renamed into place. If it exists it is first renamed aside, the new folder renamed into place,
   * and then the old one deleted; if the second rename fails the old folder is put back. Both paths
   * must be on the same file system. Contents are not fsynced here: write them with
   * {@link #write} (or sync them) before publishing.
   *
   * @throws IOException if {@code finishedTempDir} is not a directory, {@code target} exists and is
   *     not a directory, or a rename fails (then {@code target} is as before)
   */
  public static void replaceDirectory(Path finishedTempDir, Path target) throws IOException {
    if (!Files.isDirectory(finishedTempDir, LinkOption.NOFOLLOW_LINKS)) {
      throw new IOException(finishedTempDir + ": not a directory, cannot publish it as " + target);
    }
    Path dir = parentOf(target);
    syncDirectory(finishedTempDir);
    if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
      Files.move(finishedTempDir, target, StandardCopyOption.ATOMIC_MOVE);
      syncDirectory(dir);
      return;
    }
    if (!Files.isDirectory(target, LinkOption.NOFOLLOW_LINKS)) {
      throw new IOException(target + ": exists and is not a directory; remove it or choose another output folder");
    }
    Path aside = reserveSiblingName(dir, target.getFileName().toString(), ".old");
    Files.move(target, aside, StandardCopyOption.ATOMIC_MOVE);
    try {
      Files.move(finishedTempDir, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException | RuntimeException | Error e) {
      try {
        Files.move(aside, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException restoreFailure) {
        e.addSuppressed(restoreFailure);
      }
      throw e;
    }
    syncDirectory(dir);
    try {
      deleteRecursively(aside);
    } catch (IOException e) {
      log.warn("published {} but could not delete the previous version at {}: {}", target, aside, e.toString());
    }
  }

  private static final java.util.regex.Pattern PID_TEMPORARY =
      java.util.regex.Pattern.compile("\\..+\\.tmp-(\\d{1,18})--?\\d+");

  /**
   * Deletes the temporary folders that killed runs left in {@code dir}: entries named
   * {@code .<name>.tmp-<pid>-<nanoTime>} (how corpus, model and checkpoint writers name the folder they build before
   * publishing it) whose process is no longer running on this machine. A folder whose process is alive is being
   * written and stays; so does anything that cannot be deleted. Returns the folders deleted.
   */
  public static List<Path> deleteAbandonedTemporaries(Path dir) {
    List<Path> deleted = new ArrayList<>();
    List<Path> candidates = new ArrayList<>();
    try (java.util.stream.Stream<Path> entries = Files.list(dir)) {
      entries.forEach(candidates::add);
    } catch (IOException e) {
      return deleted;
    }
    for (Path p : candidates) {
      java.util.regex.Matcher m = PID_TEMPORARY.matcher(p.getFileName().toString());
      if (!m.matches() || !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) continue;
      long pid = Long.parseLong(m.group(1));
      if (pid == ProcessHandle.current().pid() || ProcessHandle.of(pid).isPresent()) continue;
      try {
        deleteRecursively(p);
        deleted.add(p);
      } catch (IOException e) {
        log.warn("could not delete {}, left by a run that has ended: {}", p, e.toString());
      }
    }
    return deleted;
  }

  /** Deletes a file or a folder tree; symbolic links are deleted, not followed. Absent paths are ignored. */
  public static void deleteRecursively(Path root) throws IOException {
    if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Files.delete(file);
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
        if (e != null) {
          throw e;
        }
        Files.delete(d);
        return FileVisitResult.CONTINUE;
      }
    });
  }

  private static Path parentOf(Path target) {
    Path parent = target.toAbsolutePath().getParent();
    if (parent == null) {
      throw new IllegalArgumentException("cannot write to a file system root: " + target);
    }
    return parent;
  }

  // Created with CREATE_NEW rather than Files.createTempFile so the file gets the usual
  // permissions (umask), not createTempFile's owner-only 0600, which the rename would keep.
  private static Path createSibling(Path dir, String name, String suffix) throws IOException {
    for (int attempt = 0; ; attempt++) {
      Path candidate = dir.resolve(siblingName(name, suffix));
      try {
        Files.newByteChannel(candidate, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE).close();
        return candidate;
      } catch (FileAlreadyExistsException e) {
        if (attempt == 100) {
          throw e;
        }
      }
    }
  }

  private static Path reserveSiblingName(Path dir, String name, String suffix) throws IOException {
    for (int attempt = 0; attempt < 100; attempt++) {
      Path candidate = dir.resolve(siblingName(name, suffix));
      if (!Files.exists(candidate, LinkOption.NOFOLLOW_LINKS)) {
        return candidate;
      }
    }
    throw new IOException(dir + ": could not find a free name to move " + name + " aside");
  }

  private static String siblingName(String name, String suffix) {
    return "." + name + "." + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1) + suffix;
  }

  // fsync of a directory makes a rename durable on Linux; some platforms cannot open a
  // directory for reading, so this is best effort.
  private static void syncDirectory(Path dir) {
    try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
      channel.force(true);
    } catch (IOException | UnsupportedOperationException e) {
      log.debug("could not fsync directory {}: {}", dir, e.toString());
    }
  }

  private static void deleteQuietly(Path temp, Throwable primary) {
    try {
      Files.deleteIfExists(temp);
    } catch (IOException e) {
      primary.addSuppressed(e);
    }
  }

  /** Lets the body close its stream without closing the channel before it is fsynced. */
  private static final class CloseShield extends FilterOutputStream {
    CloseShield(OutputStream out) {
      super(out);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
    }

    @Override
    public void close() throws IOException {
      out.flush();
    }
  }
}

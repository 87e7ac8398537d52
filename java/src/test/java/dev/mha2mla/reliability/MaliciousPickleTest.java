package dev.mha2mla.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.mha2mla.io.MalformedFileException;
import dev.mha2mla.io.TorchPickleReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The classic ways a pickle runs code, each inside a valid torch.save archive: the reader must refuse every
 * one with an error that names the file and the reason, and the payload (which would create a marker file)
 * must not run. {@code io/TorchPickleReaderTest} covers os.system through GLOBAL, builtins.eval through
 * STACK_GLOBAL, torch.load and a bare INST opcode; these are the rest of the attack surface: other
 * modules, the object-building opcodes (INST with a name, OBJ, NEWOBJ, NEWOBJ_EX), the extension registry,
 * REDUCE and BUILD on things that are not functions, text persistent ids, protocol 5 buffers, and a payload
 * hidden behind a valid tensor.
 */
class MaliciousPickleTest {
  @TempDir Path dir;

  static Stream<Arguments> payloads() {
    return Stream.of(
        payload("subprocess.Popen(['touch', marker])", "global 'subprocess.Popen', which is not allowed",
            m -> new Pickle().proto(2).global("subprocess", "Popen").mark().mark().str("touch").str(m).op('l')
                .tuple().reduce().stop().bytes()),
        payload("posix.system: how os.system is pickled on Linux", "global 'posix.system'",
            m -> new Pickle().proto(2).global("posix", "system").mark().str("touch " + m).tuple().reduce().stop().bytes()),
        payload("Python 2's __builtin__.eval", "global '__builtin__.eval'",
            m -> evalCall(new Pickle().proto(2).global("__builtin__", "eval"), m)),
        payload("builtins.exec through STACK_GLOBAL", "global 'builtins.exec'",
            m -> evalCall(new Pickle().proto(4).stackGlobal("builtins", "exec"), m)),
        payload("builtins.getattr(os, 'system'): a two-step lookup", "global 'builtins.getattr'",
            m -> new Pickle().proto(2).global("builtins", "getattr").stop().bytes()),
        payload("torch.storage._load_from_bytes: a nested torch.load", "global 'torch.storage._load_from_bytes'",
            m -> new Pickle().proto(4).stackGlobal("torch.storage", "_load_from_bytes").stop().bytes()),
        payload("an unlisted name in an allowed module", "global 'torch._utils._rebuild_device_tensor_from_numpy'",
            m -> new Pickle().proto(4).stackGlobal("torch._utils", "_rebuild_device_tensor_from_numpy").stop().bytes()),
        payload("a Java class name (a reader that resolves classes would run its static initializer)",
            "global 'dev.mha2mla.reliability.MaliciousPickleTest$Trap.x'",
            m -> new Pickle().proto(2).global(Trap.class.getName(), "x").stop().bytes()),
        payload("INST with a module and name: os.system(marker)", "opcode 0x69 is not supported",
            m -> new Pickle().proto(2).mark().str("touch " + m).op('i').op(ascii("os\nsystem\n")).stop().bytes()),
        payload("OBJ: calls the class on the stack", "opcode 0x6F is not supported",
            m -> new Pickle().proto(2).mark().global("collections", "OrderedDict").op('o').stop().bytes()),
        payload("NEWOBJ: cls.__new__(cls, *args)", "opcode 0x81 is not supported",
            m -> new Pickle().proto(2).global("collections", "OrderedDict").op(')').op(0x81).stop().bytes()),
        payload("NEWOBJ_EX: cls.__new__(cls, *args, **kwargs)", "opcode 0x92 is not supported",
            m -> new Pickle().proto(4).global("collections", "OrderedDict").op(')').op('}').op(0x92).stop().bytes()),
        payload("EXT1: a global by copyreg extension code", "opcode 0x82 is not supported",
            m -> new Pickle().proto(2).op(0x82, 1).stop().bytes()),
        payload("EXT4", "opcode 0x84 is not supported",
            m -> new Pickle().proto(2).op(0x84, 1, 0, 0, 0).stop().bytes()),
        payload("PERSID: a text persistent id", "opcode 0x50 is not supported",
            m -> new Pickle().proto(2).op('P').op(ascii("x\n")).stop().bytes()),
        payload("REDUCE on a string", "pickle calls a str, which is not callable here",
            m -> new Pickle().proto(2).str("os.system").mark().str("touch " + m).tuple().reduce().stop().bytes()),
        payload("REDUCE on a storage class", "pickle calls a torch.FloatStorage class",
            m -> new Pickle().proto(2).global("torch", "FloatStorage").mark().str("touch " + m).tuple().reduce()
                .stop().bytes()),
        payload("REDUCE on OrderedDict with arguments", "OrderedDict called with arguments",
            m -> new Pickle().proto(2).global("collections", "OrderedDict").mark().str("touch " + m).tuple().reduce()
                .stop().bytes()),
        payload("BUILD (__setstate__) on a tensor", "pickle sets state on a tensor",
            m -> Pickle.stateDict("w", p -> p.tensor("FloatStorage", "0", 4, 0, new long[] {4}, new long[] {1})
                .mark().str("touch " + m).tuple().op('b'))),
        payload("a persistent id naming os.system as the storage type", "global 'os.system'",
            m -> new Pickle().proto(2).mark().str("storage").global("os", "system").str("0").str("cpu").integer(4)
                .tuple().op('Q').stop().bytes()),
        payload("os.system after a valid tensor", "global 'os.system'",
            m -> new Pickle().proto(2).orderedDict()
                .str("w").tensor("FloatStorage", "0", 4, 0, new long[] {4}, new long[] {1}).op('s')
                .str("x").global("os", "system").mark().str("touch " + m).tuple().reduce().op('s').stop().bytes()),
        payload("protocol 5 out-of-band buffer", "opcode 0x97 is not supported",
            m -> new Pickle().proto(5).op(0x97).stop().bytes()));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("payloads")
  void isRefusedAndNeverRuns(Function<Path, byte[]> pickle, String reason) throws IOException {
    Path marker = dir.resolve("pwned");
    Path file = Files.write(dir.resolve("evil.bin"), TorchArchive.of(pickle.apply(marker),
        Map.of("0", new byte[16])));

    assertThatThrownBy(() -> TorchPickleReader.read(file))
        .isInstanceOf(MalformedFileException.class)
        .hasMessageStartingWith(file + ": ")
        .hasMessageContaining(reason);
    assertThat(marker).as("the payload's marker file").doesNotExist();
    assertThat(System.getProperty(Trap.PROPERTY)).as("Trap's static initializer ran").isNull();
  }

  /** Loading this class (Class.forName by a too-helpful unpickler) would leave a trace. */
  static final class Trap {
    static final String PROPERTY = "mha2mla.reliability.trap-loaded";

    static {
      System.setProperty(PROPERTY, "yes");
    }

    private Trap() {}
  }

  private static Arguments payload(String name, String reason, Function<String, byte[]> pickle) {
    Function<Path, byte[]> withMarker = marker -> pickle.apply(marker.toString());
    return Arguments.of(Named.of(name, withMarker), reason);
  }

  private static byte[] evalCall(Pickle callable, String marker) {
    return callable.mark().str("__import__('os').system('touch " + marker + "')").tuple().reduce().stop().bytes();
  }

  private static int[] ascii(String s) {
    return s.chars().toArray();
  }
}

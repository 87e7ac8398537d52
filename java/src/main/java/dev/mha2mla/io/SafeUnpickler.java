package dev.mha2mla.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A pickle virtual machine that runs only the opcodes {@code torch.save} emits (protocol 2, plus
 * FRAME, MEMOIZE, SHORT_BINUNICODE, BINUNICODE8 and STACK_GLOBAL of protocol 4) and never calls
 * Python-level code: every GLOBAL, REDUCE, BUILD and persistent id goes to a {@link Handler},
 * which decides what it means or refuses it. Any other opcode is refused.
 *
 * <p>Python values become: None -> null, bool -> Boolean, int -> Long (64-bit at most),
 * float -> Double, str -> String, tuple -> {@link Tuple}, list -> ArrayList, dict -> LinkedHashMap
 * (keys must be str, int, float, bool or None).
 *
 * <p>Memory is bounded independently of the input's size: strings are checked against the bytes left, the
 * stack and memo are capped, every value the pickle creates counts against {@link #MAX_OBJECTS} and no
 * container may nest deeper than {@link #MAX_DEPTH}; containers are checked before they are allocated.
 * (One input byte can create a container of about 80 heap bytes, so a bound in input bytes alone would let a
 * 64 MB pickle of TUPLE1 opcodes allocate gigabytes.)
 */
final class SafeUnpickler {
  static final int MAX_STACK = 1 << 20;
  static final int MAX_MEMO = 1 << 20;
  /**
   * Values (numbers, strings, tuples, lists, dicts, globals, call results) one pickle may create. A state dict
   * needs about 20 per tensor (a persistent-id tuple, size and stride tuples and their ints, the name), so
   * 2^20 allows some 50,000 tensors, over 20 times the largest Wav2Vec2-Conformer; at roughly 100 heap bytes per
   * value it keeps a hostile pickle near 100 MB.
   */
  static final int MAX_OBJECTS = 1 << 20;
  /**
   * How deeply containers may nest. torch.save's state dicts nest 4 deep (dict, rebuild arguments, size tuple,
   * int); CPython's pickler itself cannot write anything deeper than its recursion limit of 1000.
   */
  static final int MAX_DEPTH = 1000;
  private static final int MAX_GLOBAL_LINE = 256;
  private static final int HIGHEST_PROTOCOL = 5;

  /** What the pickle's references to Python objects turn into. */
  interface Handler {
    /** The object for GLOBAL {@code module name}; refuse anything not explicitly allowed. */
    Object global(String module, String name) throws IOException;

    /** The object for BINPERSID with persistent id {@code pid}. */
    Object persistentLoad(Object pid) throws IOException;

    /** The result of REDUCE: calling {@code callable} (a value from {@link #global}) with {@code args}. */
    Object reduce(Object callable, Tuple args) throws IOException;

    /** The result of BUILD: setting {@code state} on {@code object}. */
    Object build(Object object, Object state) throws IOException;
  }

  /** A Python tuple. */
  record Tuple(List<Object> items) {
    Tuple {
      items = Collections.unmodifiableList(items);
    }

    int size() {
      return items.size();
    }

    Object get(int i) {
      return items.get(i);
    }

    @Override
    public String toString() {
      return "tuple of " + items.size();
    }
  }

  private final Path file;
  private final String entryName;
  private final ByteBuffer in;
  private final Handler handler;
  private final ArrayList<Object> stack = new ArrayList<>();
  private final ArrayList<Integer> marks = new ArrayList<>();
  private final HashMap<Long, Object> memo = new HashMap<>();
  // nesting depth of each container built so far (scalars are depth 0); tuples are exact, lists and dicts
  // record the deepest value added to them
  private final IdentityHashMap<Object, Integer> depths = new IdentityHashMap<>();
  private int objects;
  private int opcodeAt;

  SafeUnpickler(Path file, String entryName, byte[] pickle, Handler handler) {
    this.file = file;
    this.entryName = entryName;
    this.in = ByteBuffer.wrap(pickle).order(ByteOrder.LITTLE_ENDIAN);
    this.handler = handler;
  }

  /** Runs the pickle to its STOP opcode and returns the object it built. */
  Object load() throws IOException {
    while (true) {
      opcodeAt = in.position();
      int op = readU8();
      switch (op) {
        case 0x80 -> { // PROTO
          int version = readU8();
          if (version > HIGHEST_PROTOCOL) {
            throw fail("pickle protocol " + version + " is newer than " + HIGHEST_PROTOCOL);
          }
        }
        case 0x95 -> readBytes(8); // FRAME: a length hint for buffered readers
        case '.' -> { // STOP
          return pop();
        }
        case '(' -> { // MARK
          if (marks.size() >= MAX_STACK) {
            throw fail("more than " + MAX_STACK + " nested MARKs");
          }
          marks.add(stack.size());
        }
        case ')' -> pushExisting(tuple(List.of())); // EMPTY_TUPLE
        case ']' -> pushExisting(container(new ArrayList<>())); // EMPTY_LIST
        case '}' -> pushExisting(container(new LinkedHashMap<>())); // EMPTY_DICT
        case 'N' -> push(null); // NONE
        case 0x88 -> push(Boolean.TRUE); // NEWTRUE
        case 0x89 -> push(Boolean.FALSE); // NEWFALSE
        case 'J' -> push((long) readI32()); // BININT: signed 32-bit
        case 'K' -> push((long) readU8()); // BININT1: unsigned 8-bit
        case 'M' -> push((long) readU16()); // BININT2: unsigned 16-bit
        case 0x8a -> push(readLong1()); // LONG1
        case 'G' -> push(in.order(ByteOrder.BIG_ENDIAN).getDouble(checkAvailable(8))); // BINFLOAT: big-endian
        case 'X' -> push(readString(Integer.toUnsignedLong(readI32()))); // BINUNICODE
        case 0x8c -> push(readString(readU8())); // SHORT_BINUNICODE
        case 0x8d -> push(readString(readI64())); // BINUNICODE8
        case 't' -> pushExisting(tuple(popToMark())); // TUPLE
        case 0x85 -> pushExisting(tuple(popN(1))); // TUPLE1
        case 0x86 -> pushExisting(tuple(popN(2))); // TUPLE2
        case 0x87 -> pushExisting(tuple(popN(3))); // TUPLE3
        case 'a' -> { // APPEND
          Object value = pop();
          List<Object> list = peekList();
          deepen(list, List.of(value));
          list.add(value);
        }
        case 'e' -> { // APPENDS
          List<Object> values = popToMark();
          List<Object> list = peekList();
          deepen(list, values);
          list.addAll(values);
        }
        case 's' -> { // SETITEM
          Object value = pop();
          Object key = pop();
          Map<Object, Object> dict = peekDict();
          deepen(dict, List.of(value));
          putItem(dict, key, value);
        }
        case 'u' -> { // SETITEMS
          List<Object> items = popToMark();
          if (items.size() % 2 != 0) {
            throw fail("SETITEMS with an odd number of items");
          }
          Map<Object, Object> dict = peekDict();
          deepen(dict, items);
          for (int i = 0; i < items.size(); i += 2) {
            putItem(dict, items.get(i), items.get(i + 1));
          }
        }
        case 'q' -> memoPut(readU8()); // BINPUT
        case 'r' -> memoPut(Integer.toUnsignedLong(readI32())); // LONG_BINPUT
        case 0x94 -> memoPut(memo.size()); // MEMOIZE
        case 'h' -> pushExisting(memoGet(readU8())); // BINGET
        case 'j' -> pushExisting(memoGet(Integer.toUnsignedLong(readI32()))); // LONG_BINGET
        case 'c' -> { // GLOBAL "module\nname\n"
          String module = readLine();
          String name = readLine();
          push(handler.global(module, name));
        }
        case 0x93 -> { // STACK_GLOBAL
          Object name = pop();
          Object module = pop();
          if (!(module instanceof String m) || !(name instanceof String n)) {
            throw fail("STACK_GLOBAL needs two strings");
          }
          push(handler.global(m, n));
        }
        case 'R' -> { // REDUCE: callable(*args)
          Object args = pop();
          Object callable = pop();
          if (!(args instanceof Tuple t)) {
            throw fail("REDUCE arguments are a " + typeName(args) + ", not a tuple");
          }
          countObject();
          Object result = handler.reduce(callable, t);
          if (result instanceof Map<?, ?> || result instanceof List<?>) {
            depths.put(result, 1);
          }
          pushExisting(result);
        }
        case 'b' -> { // BUILD: obj.__setstate__(state)
          Object state = pop();
          Object object = pop();
          pushExisting(handler.build(object, state));
        }
        case 'Q' -> { // BINPERSID
          Object pid = pop();
          countObject();
          pushExisting(handler.persistentLoad(pid));
        }
        default -> throw fail(String.format("opcode 0x%02X is not supported by this safe unpickler", op));
      }
    }
  }

  /** A short description of a value's Python type for error messages (never its content). */
  static String typeName(Object value) {
    if (value == null) {
      return "None";
    }
    if (value instanceof Tuple) {
      return "tuple";
    }
    if (value instanceof List<?>) {
      return "list";
    }
    if (value instanceof Map<?, ?>) {
      return "dict";
    }
    if (value instanceof String) {
      return "str";
    }
    if (value instanceof Long) {
      return "int";
    }
    if (value instanceof Double) {
      return "float";
    }
    if (value instanceof Boolean) {
      return "bool";
    }
    return value.getClass().getSimpleName();
  }

  private MalformedFileException fail(String problem) {
    return new MalformedFileException(file, entryName + " byte " + opcodeAt + ": " + problem);
  }

  /** Pushes a scalar or global the current opcode created, counting it against {@link #MAX_OBJECTS}. */
  private void push(Object value) throws MalformedFileException {
    checkStackRoom();
    countObject();
    stack.add(value);
  }

  /** Pushes a value that was already counted: a container, a memo entry, a call result, a BUILD target. */
  private void pushExisting(Object value) throws MalformedFileException {
    checkStackRoom();
    stack.add(value);
  }

  private void checkStackRoom() throws MalformedFileException {
    if (stack.size() >= MAX_STACK) {
      throw fail("pickle stack grew past " + MAX_STACK + " entries");
    }
  }

  private void countObject() throws MalformedFileException {
    if (objects >= MAX_OBJECTS) {
      throw fail("pickle creates more than " + MAX_OBJECTS + " objects (the limit; a state dict needs about 20 "
          + "per tensor)");
    }
    objects++;
  }

  private int depthOf(Object value) {
    Integer d = value == null ? null : depths.get(value);
    return d == null ? 0 : d;
  }

  // A container holding `items` is one deeper than the deepest of them.
  private int depthAbove(List<Object> items) throws MalformedFileException {
    int deepest = 0;
    for (Object item : items) {
      deepest = Math.max(deepest, depthOf(item));
    }
    if (deepest + 1 > MAX_DEPTH) {
      throw fail("containers nest more than " + MAX_DEPTH + " deep (the limit; torch.save's state dicts nest 4 deep)");
    }
    return deepest + 1;
  }

  /** A new tuple, after counting it and checking how deep it nests. */
  private Tuple tuple(List<Object> items) throws MalformedFileException {
    int depth = depthAbove(items);
    countObject();
    Tuple t = new Tuple(items);
    depths.put(t, depth);
    return t;
  }

  /** Registers a new, empty list or dict: counted, depth 1. */
  private Object container(Object empty) throws MalformedFileException {
    countObject();
    depths.put(empty, 1);
    return empty;
  }

  // Adding `items` to a list or dict makes it at least one deeper than each of them.
  private void deepen(Object container, List<Object> items) throws MalformedFileException {
    int depth = depthAbove(items);
    if (depth > depthOf(container)) {
      depths.put(container, depth);
    }
  }

  private Object pop() throws MalformedFileException {
    int top = stack.size() - 1;
    if (top < 0 || (!marks.isEmpty() && marks.get(marks.size() - 1) > top)) {
      throw fail("stack underflow");
    }
    return stack.remove(top);
  }

  private Object peek() throws MalformedFileException {
    int top = stack.size() - 1;
    if (top < 0 || (!marks.isEmpty() && marks.get(marks.size() - 1) > top)) {
      throw fail("stack underflow");
    }
    return stack.get(top);
  }

  private List<Object> popN(int n) throws MalformedFileException {
    Object[] items = new Object[n];
    for (int i = n - 1; i >= 0; i--) {
      items[i] = pop();
    }
    return Arrays.asList(items);
  }

  private List<Object> popToMark() throws MalformedFileException {
    if (marks.isEmpty()) {
      throw fail("no MARK on the stack");
    }
    int mark = marks.remove(marks.size() - 1);
    List<Object> top = stack.subList(mark, stack.size());
    List<Object> items = new ArrayList<>(top);
    top.clear();
    return items;
  }

  @SuppressWarnings("unchecked")
  private List<Object> peekList() throws MalformedFileException {
    Object target = peek();
    if (!(target instanceof ArrayList<?>)) {
      throw fail("APPEND to a " + typeName(target) + ", not a list");
    }
    return (List<Object>) target;
  }

  @SuppressWarnings("unchecked")
  private Map<Object, Object> peekDict() throws MalformedFileException {
    Object target = peek();
    if (!(target instanceof LinkedHashMap<?, ?>)) {
      throw fail("SETITEM on a " + typeName(target) + ", not a dict");
    }
    return (Map<Object, Object>) target;
  }

  // Only scalar keys: their equals/hashCode cannot recurse into (possibly cyclic) containers.
  private void putItem(Map<Object, Object> dict, Object key, Object value) throws MalformedFileException {
    if (!(key == null || key instanceof String || key instanceof Long || key instanceof Double
        || key instanceof Boolean)) {
      throw fail("dict key of type " + typeName(key) + " is not supported");
    }
    dict.put(key, value);
  }

  private void memoPut(long index) throws MalformedFileException {
    if (!memo.containsKey(index) && memo.size() >= MAX_MEMO) {
      throw fail("pickle memo grew past " + MAX_MEMO + " entries");
    }
    memo.put(index, peek());
  }

  private Object memoGet(long index) throws MalformedFileException {
    if (!memo.containsKey(index)) {
      throw fail("memo entry " + index + " is read before it is written");
    }
    return memo.get(index);
  }

  private int checkAvailable(int n) throws MalformedFileException {
    if (in.remaining() < n) {
      throw fail("pickle ends in the middle of an opcode (no STOP): truncated file");
    }
    int at = in.position();
    in.position(at + n);
    return at;
  }

  private int readU8() throws MalformedFileException {
    return in.get(checkAvailable(1)) & 0xff;
  }

  private int readU16() throws MalformedFileException {
    return in.order(ByteOrder.LITTLE_ENDIAN).getShort(checkAvailable(2)) & 0xffff;
  }

  private int readI32() throws MalformedFileException {
    return in.order(ByteOrder.LITTLE_ENDIAN).getInt(checkAvailable(4));
  }

  private long readI64() throws MalformedFileException {
    return in.order(ByteOrder.LITTLE_ENDIAN).getLong(checkAvailable(8));
  }

  private byte[] readBytes(long n) throws MalformedFileException {
    if (n < 0 || n > in.remaining()) {
      throw fail("a " + Long.toUnsignedString(n) + "-byte field runs past the end of the pickle: truncated file");
    }
    byte[] out = new byte[(int) n];
    in.get(checkAvailable((int) n), out);
    return out;
  }

  // LONG1: a length byte n, then n bytes of little-endian two's complement
  private long readLong1() throws MalformedFileException {
    int n = readU8();
    if (n > 8) {
      throw fail("integer of " + n + " bytes does not fit 64 bits");
    }
    byte[] b = readBytes(n);
    long value = 0;
    for (int i = n - 1; i >= 0; i--) {
      value = (value << 8) | (b[i] & 0xff);
    }
    if (n > 0 && n < 8 && b[n - 1] < 0) {
      value |= -1L << (8 * n); // sign-extend
    }
    return value;
  }

  private String readString(long n) throws MalformedFileException {
    return decodeUtf8(readBytes(n));
  }

  private String readLine() throws MalformedFileException {
    int start = in.position();
    for (int i = start; i < in.limit() && i - start <= MAX_GLOBAL_LINE; i++) {
      if (in.get(i) == '\n') {
        byte[] line = readBytes(i - start);
        in.get(); // the newline
        return decodeUtf8(line);
      }
    }
    throw fail("GLOBAL name is not a newline-terminated line of at most " + MAX_GLOBAL_LINE + " bytes");
  }

  private String decodeUtf8(byte[] bytes) throws MalformedFileException {
    try {
      CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes));
      return chars.toString();
    } catch (CharacterCodingException e) {
      throw fail("string is not valid UTF-8");
    }
  }
}

package dev.mha2mla.io;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The one Jackson setup for files mha2mla writes: snake_case field names, indented, written atomically. Field
 * order is fixed so that the same content gives the same bytes on every run: a record's components come first in
 * declaration order (Class.getRecordComponents specifies it), then every other property (computed getters, whose
 * order Jackson takes from Class.getDeclaredMethods, which the JVM leaves unspecified) sorted by name; a class that
 * is not a record has all its properties sorted by name. Map entries are written sorted by key.
 */
public final class Json {
  public static final ObjectMapper MAPPER = new ObjectMapper()
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .enable(SerializationFeature.INDENT_OUTPUT)
      .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
      .registerModule(new com.fasterxml.jackson.databind.module.SimpleModule("stable-order")
          .setSerializerModifier(new StableOrder()))
      .disable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private Json() {}

  private static final class StableOrder extends com.fasterxml.jackson.databind.ser.BeanSerializerModifier {
    @Override
    public java.util.List<com.fasterxml.jackson.databind.ser.BeanPropertyWriter> orderProperties(
        com.fasterxml.jackson.databind.SerializationConfig config,
        com.fasterxml.jackson.databind.BeanDescription bean,
        java.util.List<com.fasterxml.jackson.databind.ser.BeanPropertyWriter> properties) {
      java.util.List<String> components = new java.util.ArrayList<>();
      Class<?> type = bean.getBeanClass();
      if (type.isRecord()) {
        for (java.lang.reflect.RecordComponent c : type.getRecordComponents()) components.add(c.getName());
      }
      java.util.List<com.fasterxml.jackson.databind.ser.BeanPropertyWriter> out = new java.util.ArrayList<>(properties);
      out.sort(java.util.Comparator
          .comparingInt((com.fasterxml.jackson.databind.ser.BeanPropertyWriter w) -> rank(components, w))
          .thenComparing(com.fasterxml.jackson.databind.ser.BeanPropertyWriter::getName));
      return out;
    }

    // a component's position, or after all components; the member's Java name, as the JSON one is snake_case
    private static int rank(java.util.List<String> components, com.fasterxml.jackson.databind.ser.BeanPropertyWriter w) {
      int i = w.getMember() == null ? -1 : components.indexOf(w.getMember().getName());
      return i < 0 ? components.size() : i;
    }
  }

  public static void write(Path file, Object value) throws IOException {
    AtomicFiles.writeString(file, MAPPER.writeValueAsString(value) + "\n");
  }

  public static <T> T read(Path file, Class<T> type) throws IOException {
    try {
      return MAPPER.readValue(file.toFile(), type);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new MalformedFileException(file, e.getOriginalMessage());
    }
  }
}

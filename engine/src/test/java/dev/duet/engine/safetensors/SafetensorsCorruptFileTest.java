package dev.duet.engine.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.duet.engine.ModelFormatException;
import dev.duet.engine.gguf.GgmlType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Truncated and corrupt safetensors files fail with a {@link ModelFormatException} naming them. */
class SafetensorsCorruptFileTest {
  @TempDir Path dir;

  private static byte[] file(String json, int dataBytes) {
    byte[] header = json.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b =
        ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(header.length);
    b.put(header);
    return b.array();
  }

  private AbstractThrowableAssert<?, ? extends Throwable> assertOpenFails(byte[] bytes)
      throws Exception {
    Path bad = dir.resolve("bad.safetensors");
    Files.write(bad, bytes);
    return assertThatThrownBy(() -> SafetensorsFile.open(bad).close())
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining(bad.toString());
  }

  @Test
  void aHandBuiltFileOpens() throws Exception {
    Path ok = dir.resolve("ok.safetensors");
    Files.write(
        ok,
        file(
            "{\"__metadata__\":{\"format\":\"pt\"},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"I8\",\"shape\":[2,2],\"data_offsets\":[8,12]}}  ",
            12));
    try (SafetensorsFile f = SafetensorsFile.open(ok)) {
      assertThat(f.metadata()).containsEntry("format", "pt");
      assertThat(f.tensors()).hasSize(2);
      assertThat(f.data("b").byteSize()).isEqualTo(4);
    }
  }

  @Test
  void aTruncatedFileIsRejected() throws Exception {
    Path good = dir.resolve("good.safetensors");
    new SafetensorsWriter()
        .addTensor("w", GgmlType.F32, new long[] {4, 4}, () -> new float[16])
        .write(good);
    byte[] bytes = Files.readAllBytes(good);
    assertOpenFails(Arrays.copyOf(bytes, bytes.length - 1)).hasMessageContaining("beyond");
    assertOpenFails(Arrays.copyOf(bytes, 20)).hasMessageContaining("truncated");
    assertOpenFails(Arrays.copyOf(bytes, 5)).hasMessageContaining("truncated");
    assertOpenFails(new byte[0]).hasMessageContaining("truncated");
  }

  @Test
  void aHeaderLengthBeyondTheFileOrTheLimitIsRejected() throws Exception {
    byte[] bytes = file("{}", 0);
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1000);
    assertOpenFails(bytes).hasMessageContaining("header length");
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 200_000_000L);
    assertOpenFails(bytes).hasMessageContaining("bad safetensors header length 200000000");
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, -1L);
    assertOpenFails(bytes).hasMessageContaining("bad safetensors header length");
  }

  @Test
  void badJsonIsRejected() throws Exception {
    assertOpenFails(file("{\"a\":{\"dtype\":\"F32\",", 0)).hasMessageContaining("JSON");
    assertOpenFails(file("[1, 2, 3]", 0)).hasMessageContaining("'{'");
    assertOpenFails(file("{\"a\": 3}", 0)).hasMessageContaining("tensor a");
    assertOpenFails(
            file(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                    + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                8))
        .hasMessageContaining("JSON");
    assertOpenFails(file("{\"__metadata__\":{\"n\":3}}", 0)).hasMessageContaining("not a string");
    assertOpenFails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4))
        .hasMessageContaining("shape");
  }

  @Test
  void outOfBoundsOrOverlappingOrMissizedOffsetsAreRejected() throws Exception {
    assertOpenFails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 8))
        .hasMessageContaining("tensor a")
        .hasMessageContaining("beyond the data section");
    assertOpenFails(
            file(
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                    + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                8))
        .hasMessageContaining("overlapping");
    assertOpenFails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 8))
        .hasMessageContaining("needs 8");
    assertOpenFails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8))
        .hasMessageContaining("bad data_offsets");
    assertOpenFails(file("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 8))
        .hasMessageContaining("data_offsets");
  }

  @Test
  void anUnsupportedDtypeIsRejectedWithTheSupportedOnes() throws Exception {
    assertOpenFails(file("{\"a\":{\"dtype\":\"Q9\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1))
        .hasMessageContaining("unknown dtype Q9");
    Path file = dir.resolve("int8.safetensors");
    Files.write(file, file("{\"q\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4));
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      SafetensorsTensor q = f.tensor("q");
      assertThatThrownBy(() -> f.ggmlType(q))
          .isInstanceOf(ModelFormatException.class)
          .hasMessageContaining(file.toString())
          .hasMessageContaining(
              "tensor q has dtype I8, which Duet does not support; supported: F32, F16, BF16");
      assertThatThrownBy(q::ggmlType).isInstanceOf(ModelFormatException.class);
    }
  }
}

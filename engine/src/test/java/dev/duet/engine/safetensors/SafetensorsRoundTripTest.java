package dev.duet.engine.safetensors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.duet.engine.ModelFormatException;
import dev.duet.engine.gguf.GgmlCodec;
import dev.duet.engine.gguf.GgmlType;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files written by {@link SafetensorsWriter} read back through {@link SafetensorsFile}. */
class SafetensorsRoundTripTest {
  @TempDir Path dir;

  private static float[] random(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = (float) (r.nextDouble() * 8 - 4);
    }
    return out;
  }

  private static float[] decode(GgmlType type, MemorySegment data, int n) {
    float[] out = new float[n];
    GgmlCodec.decode(type, data, 0, out, 0, n);
    return out;
  }

  private static float[] viaCodec(GgmlType type, float[] values) {
    return decode(type, MemorySegment.ofArray(GgmlCodec.encode(type, values)), values.length);
  }

  @Test
  void f32F16AndBf16TensorsReadBackAsTheCodecEncodesThem() throws Exception {
    float[] a = random(12, 1);
    float[] b = random(10, 2);
    float[] c = random(7, 3);
    Path file = dir.resolve("m.safetensors");
    new SafetensorsWriter()
        .addTensor("a.weight", GgmlType.F32, new long[] {3, 4}, () -> a)
        .addTensor("b.weight", GgmlType.F16, new long[] {2, 5}, () -> b)
        .addTensor("c.bias", GgmlType.BF16, new long[] {7}, () -> c)
        .write(file);

    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      assertThat(f.path()).isEqualTo(file);
      assertThat(f.metadata()).isEmpty();
      assertThat(f.tensors())
          .extracting(SafetensorsTensor::name)
          .containsExactly("a.weight", "b.weight", "c.bias");
      SafetensorsTensor ta = f.tensor("a.weight");
      assertThat(ta.dtype()).isEqualTo("F32");
      assertThat(ta.shape()).containsExactly(3, 4);
      assertThat(ta.ggmlShape()).containsExactly(4, 3);
      assertThat(ta.begin()).isZero();
      assertThat(ta.end()).isEqualTo(48);
      assertThat(f.ggmlType(ta)).isEqualTo(GgmlType.F32);
      assertThat(decode(GgmlType.F32, f.data(ta), 12)).containsExactly(a);

      SafetensorsTensor tb = f.tensor("b.weight");
      assertThat(tb.dtype()).isEqualTo("F16");
      assertThat(tb.ggmlType()).isEqualTo(GgmlType.F16);
      assertThat(tb.begin()).isEqualTo(48);
      assertThat(tb.byteSize()).isEqualTo(20);
      assertThat(decode(GgmlType.F16, f.data("b.weight"), 10))
          .containsExactly(viaCodec(GgmlType.F16, b));

      SafetensorsTensor tc = f.tensor("c.bias");
      assertThat(tc.ggmlType()).isEqualTo(GgmlType.BF16);
      float[] readC = decode(GgmlType.BF16, f.data(tc), 7);
      assertThat(readC).containsExactly(viaCodec(GgmlType.BF16, c));
      for (int i = 0; i < c.length; i++) {
        assertThat(readC[i]).isCloseTo(c[i], org.assertj.core.data.Offset.offset(0.02f));
      }

      assertThat(f.data(ta).isReadOnly()).isTrue();
      assertThat(f.find("missing")).isEmpty();
      assertThat(f.find("c.bias")).contains(tc);
      assertThatThrownBy(() -> f.tensor("missing"))
          .isInstanceOf(ModelFormatException.class)
          .hasMessageContaining(file.toString())
          .hasMessageContaining("missing");
    }
  }

  @Test
  void metadataStringsRoundTripInOrder() throws Exception {
    Path file = dir.resolve("meta.safetensors");
    new SafetensorsWriter()
        .putMetadata("format", "pt")
        .putMetadata("note", "ünïcode \"quoted\"")
        .addTensor("x", GgmlType.F32, new long[] {}, () -> new float[] {2.5f})
        .write(file);
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      assertThat(f.metadata())
          .containsExactly(
              java.util.Map.entry("format", "pt"),
              java.util.Map.entry("note", "ünïcode \"quoted\""));
      SafetensorsTensor x = f.tensor("x");
      assertThat(x.dims()).isZero();
      assertThat(x.elementCount()).isEqualTo(1);
      assertThat(decode(GgmlType.F32, f.data(x), 1)).containsExactly(2.5f);
    }
  }

  @Test
  void headerBytesMatchAHandBuiltReferenceHeader() throws Exception {
    Path file = dir.resolve("tiny.safetensors");
    new SafetensorsWriter()
        .addTensor("w1", GgmlType.F16, new long[] {1, 2}, () -> new float[] {1.0f, -2.0f})
        .write(file);
    // What the reference implementation (safetensors.torch.save_file) writes for this tensor: the
    // compact JSON padded with spaces to a multiple of 8 bytes.
    String json = "{\"w1\":{\"dtype\":\"F16\",\"shape\":[1,2],\"data_offsets\":[0,4]}}";
    assertThat(json.length()).isEqualTo(57);
    String padded = json + "       "; // 7 spaces: 57 + 7 = 64
    ByteBuffer expected = ByteBuffer.allocate(8 + 64 + 4).order(ByteOrder.LITTLE_ENDIAN);
    expected.putLong(64);
    expected.put(padded.getBytes(StandardCharsets.UTF_8));
    expected.putShort((short) 0x3c00); // 1.0 in IEEE half precision
    expected.putShort((short) 0xc000); // -2.0
    byte[] actual = Files.readAllBytes(file);
    assertThat(actual).containsExactly(expected.array());
  }

  @Test
  void writingReplacesAnExistingFileAndLeavesNoTemporaryFiles() throws Exception {
    Path file = dir.resolve("m.safetensors");
    new SafetensorsWriter()
        .addTensor("a", GgmlType.F32, new long[] {1}, () -> new float[1])
        .write(file);
    new SafetensorsWriter()
        .addTensor("b", GgmlType.F32, new long[] {2}, () -> new float[2])
        .write(file);
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      assertThat(f.tensors()).extracting(SafetensorsTensor::name).containsExactly("b");
    }
    try (var files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly("m.safetensors");
    }
  }

  @Test
  void theWriterRejectsQuantizedTypesAndWrongValueCounts() {
    assertThatThrownBy(
            () ->
                new SafetensorsWriter()
                    .addTensor("q", GgmlType.Q8_0, new long[] {32}, () -> new float[32]))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("Q8_0");
    Path file = dir.resolve("short.safetensors");
    assertThatThrownBy(
            () ->
                new SafetensorsWriter()
                    .addTensor("v", GgmlType.F32, new long[] {4}, () -> new float[3])
                    .write(file))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("needs 4 values, got 3");
    assertThat(Files.exists(file)).isFalse();
    assertThat(Arrays.asList(dir.toFile().list())).isEmpty();
  }
}

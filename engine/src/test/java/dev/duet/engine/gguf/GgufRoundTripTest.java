package dev.duet.engine.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.duet.engine.ModelFormatException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Writes GGUF files with {@link GgufWriter} and reads them back with {@link GgufFile}. */
class GgufRoundTripTest {
  @TempDir Path dir;

  private static float[] ramp(int n, float scale) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (i % 7 - 3) * scale + i * 0.001f;
    }
    return v;
  }

  private static GgufWriter everyValueType(GgufWriter w) {
    return w.putString("s", "héllo ▁world")
        .putString("empty", "")
        .putU8("u8", 255)
        .putI8("i8", -128)
        .putU16("u16", 65535)
        .putI16("i16", -32768)
        .putU32("u32", -1)
        .putI32("i32", Integer.MIN_VALUE)
        .putU64("u64", 1L << 40)
        .putI64("i64", -5L)
        .putF32("f32", 1.5f)
        .putF64("f64", Math.PI)
        .putBool("yes", true)
        .putBool("no", false)
        .putStringArray("sa", new String[] {"a", "", "<0xFF>"})
        .putF32Array("fa", new float[] {-1f, 0.25f})
        .putI32Array("ia", new int[] {1, 2, 3, 6})
        .putArray("u8a", GgufValueType.UINT8, List.of(0, 200))
        .putArray("emptya", GgufValueType.INT32, List.of());
  }

  @ParameterizedTest
  @ValueSource(ints = {2, 3})
  void readsBackEveryMetadataValueType(int version) throws Exception {
    Path file = dir.resolve("meta.gguf");
    everyValueType(new GgufWriter().version(version)).write(file);
    try (GgufFile g = GgufFile.open(file)) {
      assertThat(g.version()).isEqualTo(version);
      assertThat(g.path()).isEqualTo(file);
      assertThat(g.alignment()).isEqualTo(32);
      assertThat(g.tensors()).isEmpty();
      assertThat(g.metadata().keySet())
          .containsExactly(
              "s", "empty", "u8", "i8", "u16", "i16", "u32", "i32", "u64", "i64", "f32", "f64",
              "yes", "no", "sa", "fa", "ia", "u8a", "emptya");
      assertThat(g.metadata())
          .containsEntry("u8", 255)
          .containsEntry("i8", -128)
          .containsEntry("u16", 65535)
          .containsEntry("i16", -32768)
          .containsEntry("u32", 0xffffffffL)
          .containsEntry("i32", Integer.MIN_VALUE)
          .containsEntry("u64", 1L << 40)
          .containsEntry("i64", -5L)
          .containsEntry("f32", 1.5f)
          .containsEntry("f64", Math.PI)
          .containsEntry("sa", List.of("a", "", "<0xFF>"))
          .containsEntry("u8a", List.of(0, 200));
      assertThat(g.getString("s")).isEqualTo("héllo ▁world");
      assertThat(g.findString("empty")).contains("");
      assertThat(g.getInt("u16")).isEqualTo(65535);
      assertThat(g.getInt("i8")).isEqualTo(-128);
      assertThat(g.getLong("u32")).isEqualTo(0xffffffffL);
      assertThat(g.getLong("u64")).isEqualTo(1L << 40);
      assertThat(g.getFloat("f32")).isEqualTo(1.5f);
      assertThat(g.getFloat("f64")).isEqualTo((float) Math.PI);
      assertThat(g.getFloat("i32")).isEqualTo((float) Integer.MIN_VALUE);
      assertThat(g.getBoolean("yes")).isTrue();
      assertThat(g.findBoolean("no")).contains(false);
      assertThat(g.getStringArray("sa")).containsExactly("a", "", "<0xFF>");
      assertThat(g.getFloatArray("fa")).containsExactly(-1f, 0.25f);
      assertThat(g.getIntArray("ia")).containsExactly(1, 2, 3, 6);
      assertThat(g.getIntArray("u8a")).containsExactly(0, 200);
      assertThat(g.getIntArray("emptya")).isEmpty();
      assertThat(g.valueType("u64")).contains(GgufValueType.UINT64);
      assertThat(g.arrayElementType("sa")).contains(GgufValueType.STRING);
      assertThat(g.has("missing")).isFalse();
      assertThat(g.findInt("missing")).isEmpty();
      assertThat(g.findFloat("missing")).isEmpty();
    }
  }

  @Test
  void gettersNameTheKeyWhenMissingOrOfTheWrongType() throws Exception {
    Path file = dir.resolve("meta.gguf");
    everyValueType(new GgufWriter()).write(file);
    try (GgufFile g = GgufFile.open(file)) {
      assertThatThrownBy(() -> g.getString("nope"))
          .isInstanceOf(ModelFormatException.class)
          .hasMessageContaining("nope")
          .hasMessageContaining(file.toString());
      assertThatThrownBy(() -> g.getString("u32"))
          .isInstanceOf(ModelFormatException.class)
          .hasMessageContaining("'u32' is UINT32, expected a string");
      assertThatThrownBy(() -> g.getInt("u32")).hasMessageContaining("does not fit");
      assertThatThrownBy(() -> g.getInt("s")).hasMessageContaining("'s' is STRING");
      assertThatThrownBy(() -> g.getBoolean("i8")).hasMessageContaining("'i8'");
      assertThatThrownBy(() -> g.getFloat("yes")).hasMessageContaining("'yes'");
      assertThatThrownBy(() -> g.getStringArray("fa")).hasMessageContaining("ARRAY of FLOAT32");
      assertThatThrownBy(() -> g.getIntArray("sa")).hasMessageContaining("'sa'");
      assertThatThrownBy(() -> g.getFloatArray("s")).hasMessageContaining("'s'");
      assertThatThrownBy(() -> g.tensor("blk.0.attn_q.weight"))
          .isInstanceOf(ModelFormatException.class)
          .hasMessageContaining("blk.0.attn_q.weight")
          .hasMessageContaining(file.toString());
    }
  }

  @ParameterizedTest
  @ValueSource(ints = {2, 3})
  void readsBackTensorsOfEveryDtype(int version) throws Exception {
    Path file = dir.resolve("tensors.gguf");
    float[] f32 = ramp(24, 0.7f);
    float[] f16 = {1f, -2.5f, 0.099975586f, 65504f, 0f, -0f, 0x1p-24f * 5, 7f}; // all F16-exact
    float[] bf16 = {1f, -2f, 3.140625f, 1.0e20f, 0f, 0.5f}; // 1e20 is not BF16-exact
    float[] q8 = ramp(64 * 3, 0.3f);
    float[] q4 = ramp(32 * 4, 1.1f);
    AtomicInteger calls = new AtomicInteger();
    new GgufWriter()
        .version(version)
        .putString("general.architecture", "llama")
        .addTensor(
            "f32",
            GgmlType.F32,
            new long[] {4, 3, 2},
            () -> {
              calls.incrementAndGet();
              return f32;
            })
        .addTensor("f16", GgmlType.F16, new long[] {8}, () -> f16)
        .addTensor("bf16", GgmlType.BF16, new long[] {2, 3}, () -> bf16)
        .addTensor("q8", GgmlType.Q8_0, new long[] {64, 3}, () -> q8)
        .addTensor("q4", GgmlType.Q4_0, new long[] {32, 2, 2}, () -> q4)
        .addRawTensor("raw", GgmlType.F16, new long[] {2}, new byte[] {0x00, 0x3C, 0x00, 0x40})
        .write(file);
    assertThat(calls).hasValue(1);

    try (GgufFile g = GgufFile.open(file)) {
      assertThat(g.tensors())
          .extracting(GgufTensorInfo::name)
          .containsExactly("f32", "f16", "bf16", "q8", "q4", "raw");
      assertThat(g.dataOffset() % 32).isZero();
      for (GgufTensorInfo t : g.tensors()) {
        assertThat(t.offset() % 32).as(t.name()).isZero();
        assertThat(g.tensorData(t).byteSize()).isEqualTo(t.byteSize());
      }
      GgufTensorInfo t32 = g.tensor("f32");
      assertThat(t32.shape()).containsExactly(4, 3, 2);
      assertThat(t32.rowLength()).isEqualTo(4);
      assertThat(t32.rows()).isEqualTo(6);
      assertThat(t32.elementCount()).isEqualTo(24);
      assertThat(decode(g, "f32")).containsExactly(f32);
      assertThat(decode(g, "f16")).containsExactly(f16);
      float[] bf16Back = decode(g, "bf16");
      assertThat(bf16Back[0]).isEqualTo(1f);
      assertThat(bf16Back[2]).isEqualTo(3.140625f);
      assertThat(bf16Back[3]).isEqualTo(Float.intBitsToFloat(0x60ad0000)); // nearest BF16 to 1e20
      assertThat(bytes(g, "q8")).containsExactly(GgmlCodec.encode(GgmlType.Q8_0, q8));
      assertThat(bytes(g, "q4")).containsExactly(GgmlCodec.encode(GgmlType.Q4_0, q4));
      assertThat(g.tensor("q4").rows()).isEqualTo(4);
      assertThat(decode(g, "raw")).containsExactly(1f, 2f);
      assertThat(g.tensorData(g.tensor("raw")).isReadOnly()).isTrue();
    }
  }

  @Test
  void honoursACustomAlignment() throws Exception {
    Path file = dir.resolve("aligned.gguf");
    new GgufWriter()
        .alignment(64)
        .putString("k", "v")
        .addTensor("a", GgmlType.F32, new long[] {3}, () -> new float[] {1, 2, 3})
        .addTensor("b", GgmlType.F32, new long[] {5}, () -> new float[] {4, 5, 6, 7, 8})
        .write(file);
    try (GgufFile g = GgufFile.open(file)) {
      assertThat(g.alignment()).isEqualTo(64);
      assertThat(g.getInt("general.alignment")).isEqualTo(64);
      assertThat(g.dataOffset() % 64).isZero();
      assertThat(g.tensor("b").offset()).isEqualTo(64);
      assertThat(decode(g, "b")).containsExactly(4, 5, 6, 7, 8);
    }
  }

  @Test
  void replacesAnExistingFileAndLeavesNoTemporaryFiles() throws Exception {
    Path file = dir.resolve("out.gguf");
    Files.writeString(file, "old");
    new GgufWriter().putString("k", "v").write(file);
    try (GgufFile g = GgufFile.open(file)) {
      assertThat(g.metadata()).isEqualTo(Map.of("k", "v"));
    }
    try (var files = Files.list(dir)) {
      assertThat(files).containsExactly(file);
    }
  }

  @Test
  void rejectsASupplierThatGivesTheWrongNumberOfValues() {
    GgufWriter w =
        new GgufWriter().addTensor("t", GgmlType.F32, new long[] {4}, () -> new float[3]);
    assertThatThrownBy(() -> w.write(dir.resolve("bad.gguf")))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("t needs 4 values");
    assertThat(dir.resolve("bad.gguf")).doesNotExist();
  }

  static float[] decode(GgufFile g, String name) {
    GgufTensorInfo t = g.tensor(name);
    float[] out = new float[(int) t.elementCount()];
    GgmlCodec.decode(t.type(), g.tensorData(t), 0, out, 0, out.length);
    return out;
  }

  static byte[] bytes(GgufFile g, String name) {
    MemorySegment s = g.tensorData(g.tensor(name));
    return s.toArray(ValueLayout.JAVA_BYTE);
  }
}

package dev.duet.engine.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.duet.engine.ModelFormatException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Truncated and corrupt GGUF files must fail with a {@link ModelFormatException} that says why. */
class GgufCorruptFileTest {
  private static final String TENSOR = "blk.0.attn_q.weight";

  @TempDir Path dir;
  private byte[] good;
  private long dataOffset;

  @BeforeEach
  void writeAGoodFile() throws Exception {
    Path file = dir.resolve("good.gguf");
    new GgufWriter()
        .putString("general.architecture", "llama")
        .putU32("llama.block_count", 1)
        .putBool("flag", true)
        .putStringArray("tokenizer.ggml.tokens", new String[] {"<unk>", "a", "b"})
        .addTensor(TENSOR, GgmlType.Q8_0, new long[] {32, 2}, () -> new float[64])
        .addTensor("output_norm.weight", GgmlType.F32, new long[] {8}, () -> new float[8])
        .write(file);
    good = Files.readAllBytes(file);
    try (GgufFile g = GgufFile.open(file)) {
      dataOffset = g.dataOffset();
    }
  }

  private AbstractThrowableAssert<?, ? extends Throwable> assertOpenFails(byte[] bytes)
      throws Exception {
    Path bad = dir.resolve("bad.gguf");
    Files.write(bad, bytes);
    return assertThatThrownBy(() -> GgufFile.open(bad).close())
        .isInstanceOf(ModelFormatException.class)
        .hasMessageContaining(bad.toString());
  }

  private int indexOf(String s) {
    byte[] needle = s.getBytes(StandardCharsets.UTF_8);
    for (int i = 0; i + needle.length <= good.length; i++) {
      if (Arrays.equals(good, i, i + needle.length, needle, 0, needle.length)) {
        return i;
      }
    }
    throw new AssertionError(s + " not in file");
  }

  private byte[] withInt(int at, int value) {
    byte[] b = good.clone();
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(at, value);
    return b;
  }

  private byte[] withLong(int at, long value) {
    byte[] b = good.clone();
    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, value);
    return b;
  }

  /** Byte offset of the ggml type field of {@link #TENSOR} (name, n_dims, two u64 dims). */
  private int tensorTypeAt() {
    return indexOf(TENSOR) + TENSOR.length() + 4 + 2 * 8;
  }

  @Test
  void truncationAtEveryByteFailsWithAFormatError() throws Exception {
    for (int cut = 0; cut < good.length - 32; cut++) { // the last 32 bytes are trailing padding
      byte[] shorter = Arrays.copyOf(good, cut);
      assertOpenFails(shorter).as("cut at %d", cut);
    }
  }

  @Test
  void truncationMessagesSayWhatWasCut() throws Exception {
    assertOpenFails(Arrays.copyOf(good, 10)).hasMessageContaining("truncated");
    assertOpenFails(Arrays.copyOf(good, 30)).hasMessageContaining("truncated");
    assertOpenFails(Arrays.copyOf(good, indexOf("tokenizer.ggml.tokens") + 4))
        .hasMessageContaining("truncated")
        .hasMessageContaining("metadata key #3");
    assertOpenFails(Arrays.copyOf(good, indexOf("tokenizer.ggml.tokens") + 40))
        .hasMessageContaining("truncated")
        .hasMessageContaining("tokenizer.ggml.tokens");
    assertOpenFails(Arrays.copyOf(good, indexOf(TENSOR) + 25))
        .hasMessageContaining("truncated")
        .hasMessageContaining(TENSOR);
    assertOpenFails(Arrays.copyOf(good, (int) dataOffset + 20))
        .hasMessageContaining("truncated file: tensor " + TENSOR)
        .hasMessageContaining("runs past the end");
  }

  @Test
  void anEmptyFileIsNotAGgufFile() throws Exception {
    assertOpenFails(new byte[0]).hasMessageContaining("not a GGUF file");
  }

  @Test
  void badMagicIsNotAGgufFile() throws Exception {
    byte[] b = good.clone();
    b[0] = 'X';
    assertOpenFails(b).hasMessageContaining("not a GGUF file");
  }

  @Test
  void versionOneIsRejectedWithAnExplanation() throws Exception {
    assertOpenFails(withInt(4, 1)).hasMessageContaining("GGUF version 1 is not supported");
  }

  @Test
  void unknownVersionsAreRejected() throws Exception {
    assertOpenFails(withInt(4, 7)).hasMessageContaining("unsupported GGUF version 7");
    assertOpenFails(withInt(4, 0x03000000)).hasMessageContaining("big-endian");
  }

  @Test
  void unknownValueTypeNamesTheKey() throws Exception {
    int typeAt = indexOf("general.architecture") + "general.architecture".length();
    assertOpenFails(withInt(typeAt, 99))
        .hasMessageContaining("unknown value type 99")
        .hasMessageContaining("general.architecture");
  }

  @Test
  void unsupportedTensorDtypeNamesTheTensorAndTheType() throws Exception {
    assertOpenFails(withInt(tensorTypeAt(), 12))
        .hasMessageContaining(
            "tensor "
                + TENSOR
                + " has ggml type 12 (Q4_K), which Duet does not support; "
                + "supported: F32, F16, BF16, Q8_0, Q4_0");
    assertOpenFails(withInt(tensorTypeAt(), 1000)).hasMessageContaining("1000 (unknown)");
  }

  @Test
  void tensorDataOutsideTheFileIsRejected() throws Exception {
    assertOpenFails(withLong(tensorTypeAt() + 4, 1L << 20))
        .hasMessageContaining(TENSOR)
        .hasMessageContaining("runs past the end");
    assertOpenFails(withLong(tensorTypeAt() + 4, Long.MIN_VALUE)).hasMessageContaining(TENSOR);
  }

  @Test
  void unalignedTensorOffsetIsRejected() throws Exception {
    assertOpenFails(withLong(tensorTypeAt() + 4, 8))
        .hasMessageContaining(TENSOR)
        .hasMessageContaining("not a multiple of the alignment 32");
  }

  @Test
  void absurdCountsAndLengthsAreRejectedBeforeAllocating() throws Exception {
    assertOpenFails(withLong(8, 1L << 40)).hasMessageContaining("absurd tensor count");
    assertOpenFails(withLong(16, -1L)).hasMessageContaining("absurd metadata key-value count");
    assertOpenFails(withLong(24, 1L << 50)).hasMessageContaining("claims");
    int arrayCountAt = indexOf("tokenizer.ggml.tokens") + "tokenizer.ggml.tokens".length() + 8;
    assertOpenFails(withLong(arrayCountAt, 1L << 33))
        .hasMessageContaining("absurd array 'tokenizer.ggml.tokens' element count");
  }

  @Test
  void badDimensionsAreRejected() throws Exception {
    int nDimsAt = indexOf(TENSOR) + TENSOR.length();
    assertOpenFails(withInt(nDimsAt, 5)).hasMessageContaining("5 dimensions");
    assertOpenFails(withLong(nDimsAt + 4, 0)).hasMessageContaining("dimension 0 = 0");
    assertOpenFails(withLong(nDimsAt + 4, 33))
        .hasMessageContaining("row length 33")
        .hasMessageContaining(TENSOR);
  }

  @Test
  void aBoolOtherThanZeroOrOneIsCorrupt() throws Exception {
    byte[] b = good.clone();
    b[indexOf("flag") + 4 + 4] = 2;
    assertOpenFails(b).hasMessageContaining("bool").hasMessageContaining("flag");
  }

  @Test
  void randomByteFlipsNeverEscapeAsOtherExceptions() throws Exception {
    SplittableRandom r = new SplittableRandom(42);
    Path file = dir.resolve("flipped.gguf");
    for (int i = 0; i < 2000; i++) {
      byte[] b = good.clone();
      for (int k = 0; k < 1 + r.nextInt(3); k++) {
        b[r.nextInt((int) dataOffset)] = (byte) r.nextInt(256);
      }
      Files.write(file, b);
      try (GgufFile g = GgufFile.open(file)) {
        assertThat(g.tensors()).isNotNull();
      } catch (ModelFormatException expected) {
        assertThat(expected.getMessage()).contains(file.toString());
      }
    }
  }
}

package dev.duet.engine.gguf;

import dev.duet.engine.ModelFormatException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The parsed front of a GGUF file: version, metadata, tensor table and data-section offset.
 * Package-private; {@link GgufFile} is the public face. Immutable once parsed; thread-safe.
 *
 * @param dataOffset bytes from the start of the file to the data section
 * @param valueTypes on-disk type of each metadata value
 * @param elementTypes on-disk element type of each ARRAY metadata value
 */
record GgufHeader(
    int version,
    int alignment,
    long dataOffset,
    Map<String, Object> metadata,
    Map<String, GgufValueType> valueTypes,
    Map<String, GgufValueType> elementTypes,
    List<GgufTensorInfo> tensors) {

  /** Bytes a tensor-table entry takes at least: name length, n_dims, one dim, type, offset. */
  private static final int MIN_TENSOR_INFO_BYTES = 8 + 4 + 8 + 4 + 8;

  /** Bytes a metadata entry takes at least: key length, value type, a one-byte value. */
  private static final int MIN_KV_BYTES = 8 + 4 + 1;

  /** Deepest nesting of arrays accepted, to keep corrupt files from exhausting the stack. */
  private static final int MAX_ARRAY_DEPTH = 8;

  /** GGML type names by id, for error messages about types Duet does not support. */
  private static final String[] GGML_TYPE_NAMES = {
    "F32",
    "F16",
    "Q4_0",
    "Q4_1",
    "Q4_2",
    "Q4_3",
    "Q5_0",
    "Q5_1",
    "Q8_0",
    "Q8_1",
    "Q2_K",
    "Q3_K",
    "Q4_K",
    "Q5_K",
    "Q6_K",
    "Q8_K",
    "IQ2_XXS",
    "IQ2_XS",
    "IQ3_XXS",
    "IQ1_S",
    "IQ4_NL",
    "IQ3_S",
    "IQ2_S",
    "IQ4_XS",
    "I8",
    "I16",
    "I32",
    "I64",
    "F64",
    "IQ1_M",
    "BF16",
    "Q4_0_4_4",
    "Q4_0_4_8",
    "Q4_0_8_8",
    "TQ1_0",
    "TQ2_0",
    "IQ4_NL_4_4",
    "IQ4_NL_4_8",
    "IQ4_NL_8_8",
    "MXFP4"
  };

  static final String SUPPORTED_TYPES = "F32, F16, BF16, Q8_0, Q4_0";

  static GgufHeader parse(Path path, MemorySegment file) {
    GgufCursor in = new GgufCursor(path, file);
    if (file.byteSize() < 4) {
      throw new ModelFormatException(
          path + ": not a GGUF file: only " + file.byteSize() + " bytes long");
    }
    int magic = in.i32("magic");
    if (magic != GgufFile.MAGIC) {
      throw new ModelFormatException(
          path
              + ": not a GGUF file: magic is "
              + String.format("0x%08x", Integer.reverseBytes(magic))
              + ", expected 0x47475546 (\"GGUF\")");
    }
    int version = in.i32("version");
    if (version == 1) {
      throw new ModelFormatException(
          path
              + ": GGUF version 1 is not supported (Duet reads versions 2 and 3); "
              + "re-convert the model with a current llama.cpp");
    }
    if (version != 2 && version != 3) {
      String hint =
          Integer.reverseBytes(version) <= 3 && Integer.reverseBytes(version) > 0
              ? " (looks like a big-endian GGUF file, which Duet does not read)"
              : "";
      throw new ModelFormatException(
          path
              + ": unsupported GGUF version "
              + Integer.toUnsignedString(version)
              + "; Duet reads versions 2 and 3"
              + hint);
    }
    long tensorCount = in.count("tensor", MIN_TENSOR_INFO_BYTES);
    long kvCount = in.count("metadata key-value", MIN_KV_BYTES);

    Map<String, Object> metadata = new LinkedHashMap<>();
    Map<String, GgufValueType> valueTypes = new HashMap<>();
    Map<String, GgufValueType> elementTypes = new HashMap<>();
    for (long i = 0; i < kvCount; i++) {
      String key = in.string("metadata key #" + i);
      if (metadata.containsKey(key)) {
        throw in.error("duplicate metadata key '" + key + "'");
      }
      GgufValueType type = valueType(in, "metadata key '" + key + "'");
      valueTypes.put(key, type);
      if (type == GgufValueType.ARRAY) {
        int elementId = in.i32("element type of array '" + key + "'");
        GgufValueType element = GgufValueType.fromId(elementId);
        if (element == null) {
          throw in.error(
              "unknown array element type " + elementId + " for metadata key '" + key + "'");
        }
        elementTypes.put(key, element);
        metadata.put(key, arrayBody(in, element, key, 1));
      } else {
        metadata.put(key, value(in, type, key, 0));
      }
    }
    int alignment = alignment(path, metadata, valueTypes);

    List<GgufTensorInfo> tensors = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (long i = 0; i < tensorCount; i++) {
      GgufTensorInfo t = tensorInfo(in, i, alignment);
      if (!names.add(t.name())) {
        throw in.error("duplicate tensor name " + t.name());
      }
      tensors.add(t);
    }
    in.alignTo(alignment);
    long dataOffset = in.position();
    long size = file.byteSize();
    for (GgufTensorInfo t : tensors) {
      long available = size - dataOffset - t.offset();
      if (dataOffset > size || t.offset() > size - dataOffset || t.byteSize() > available) {
        throw new ModelFormatException(
            path
                + ": truncated file: tensor "
                + t.name()
                + " data ["
                + (dataOffset + t.offset())
                + ", "
                + (dataOffset + t.offset() + t.byteSize())
                + ") runs past the end of the "
                + size
                + "-byte file");
      }
    }
    return new GgufHeader(
        version,
        alignment,
        dataOffset,
        Collections.unmodifiableMap(metadata),
        valueTypes,
        elementTypes,
        tensors);
  }

  private static GgufValueType valueType(GgufCursor in, String what) {
    int id = in.i32("value type of " + what);
    GgufValueType type = GgufValueType.fromId(id);
    if (type == null) {
      throw in.error("unknown value type " + Integer.toUnsignedString(id) + " for " + what);
    }
    return type;
  }

  private static Object value(GgufCursor in, GgufValueType type, String key, int depth) {
    String what = "value of '" + key + "'";
    return switch (type) {
      case UINT8 -> in.u8(what);
      case INT8 -> (int) (byte) in.u8(what);
      case UINT16 -> in.i16(what) & 0xffff;
      case INT16 -> (int) in.i16(what);
      case UINT32 -> Integer.toUnsignedLong(in.i32(what));
      case INT32 -> in.i32(what);
      case FLOAT32 -> in.f32(what);
      case BOOL -> {
        int b = in.u8(what);
        if (b > 1) {
          throw in.error("bool " + what + " is " + b + ", expected 0 or 1");
        }
        yield b == 1;
      }
      case STRING -> in.string(what);
      case ARRAY -> {
        GgufValueType element = valueType(in, "elements of nested array '" + key + "'");
        yield arrayBody(in, element, key, depth + 1);
      }
      case UINT64, INT64 -> in.i64(what);
      case FLOAT64 -> in.f64(what);
    };
  }

  private static List<Object> arrayBody(
      GgufCursor in, GgufValueType element, String key, int depth) {
    if (depth > MAX_ARRAY_DEPTH) {
      throw in.error("arrays nested deeper than " + MAX_ARRAY_DEPTH + " in '" + key + "'");
    }
    long n = in.count("array '" + key + "' element", element.minBytes());
    List<Object> values = new ArrayList<>((int) Math.min(n, 1 << 20));
    for (long j = 0; j < n; j++) {
      values.add(value(in, element, key, depth));
    }
    return Collections.unmodifiableList(values);
  }

  private static int alignment(
      Path path, Map<String, Object> metadata, Map<String, GgufValueType> valueTypes) {
    Object v = metadata.get(GgufFile.ALIGNMENT_KEY);
    if (v == null) {
      return GgufFile.DEFAULT_ALIGNMENT;
    }
    if (!valueTypes.get(GgufFile.ALIGNMENT_KEY).isInteger()) {
      throw new ModelFormatException(
          path
              + ": metadata key '"
              + GgufFile.ALIGNMENT_KEY
              + "' is "
              + valueTypes.get(GgufFile.ALIGNMENT_KEY)
              + ", expected UINT32");
    }
    long a = ((Number) v).longValue();
    if (a <= 0 || a > (1 << 30) || Long.bitCount(a) != 1) {
      throw new ModelFormatException(
          path
              + ": metadata key '"
              + GgufFile.ALIGNMENT_KEY
              + "' is "
              + a
              + ", expected a positive power of two");
    }
    return (int) a;
  }

  private static GgufTensorInfo tensorInfo(GgufCursor in, long index, int alignment) {
    String name = in.string("name of tensor #" + index);
    int nDims = in.i32("dimension count of tensor " + name);
    if (nDims < 1 || nDims > GgufTensorInfo.MAX_DIMS) {
      throw in.error(
          "tensor "
              + name
              + " has "
              + Integer.toUnsignedString(nDims)
              + " dimensions; expected 1.."
              + GgufTensorInfo.MAX_DIMS);
    }
    long[] shape = new long[nDims];
    for (int d = 0; d < nDims; d++) {
      shape[d] = in.i64("dimension " + d + " of tensor " + name);
      if (shape[d] <= 0) {
        throw in.error(
            "tensor "
                + name
                + " has dimension "
                + d
                + " = "
                + Long.toUnsignedString(shape[d])
                + "; expected a positive size");
      }
    }
    int typeId = in.i32("ggml type of tensor " + name);
    GgmlType type = GgmlType.fromId(typeId);
    if (type == null) {
      String typeName =
          typeId >= 0 && typeId < GGML_TYPE_NAMES.length ? GGML_TYPE_NAMES[typeId] : "unknown";
      throw in.error(
          "tensor "
              + name
              + " has ggml type "
              + Integer.toUnsignedString(typeId)
              + " ("
              + typeName
              + "), which Duet does not support; supported: "
              + SUPPORTED_TYPES);
    }
    long offset = in.i64("data offset of tensor " + name);
    if (offset < 0 || offset % alignment != 0) {
      throw in.error(
          "tensor "
              + name
              + " has data offset "
              + Long.toUnsignedString(offset)
              + ", not a multiple of the alignment "
              + alignment);
    }
    try {
      return GgufTensorInfo.of(name, shape, type, offset);
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw in.error("bad tensor entry: " + e.getMessage());
    }
  }
}

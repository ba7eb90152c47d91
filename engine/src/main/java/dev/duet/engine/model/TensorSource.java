package dev.duet.engine.model;

import dev.duet.engine.gguf.GgmlType;
import dev.duet.engine.gguf.GgufFile;
import dev.duet.engine.safetensors.SafetensorsModel;
import dev.duet.engine.safetensors.SafetensorsTensor;
import java.lang.foreign.MemorySegment;
import java.util.Optional;

/**
 * The named tensors of a model, whatever file format holds them: a GGUF file or a Hugging Face
 * safetensors directory. Shapes are in GGUF order (innermost dimension first), so a matrix of
 * {@code rows} rows of {@code cols} values has shape {@code [cols, rows]} in both formats.
 *
 * <p>Threading: implementations are immutable views over memory-mapped files.
 */
interface TensorSource {

  /**
   * One tensor.
   *
   * @param name the tensor's name in its file
   * @param type element type
   * @param shape dimensions, innermost first
   * @param data the tensor's bytes, memory-mapped
   */
  record Tensor(String name, GgmlType type, long[] shape, MemorySegment data) {
    long elementCount() {
      long n = 1;
      for (long d : shape) {
        n *= d;
      }
      return n;
    }
  }

  /** The tensor called {@code name}, if the model has one. */
  Optional<Tensor> find(String name);

  /** Where the tensors come from, for error messages (a file or directory path). */
  String location();

  static TensorSource of(GgufFile gguf) {
    return new TensorSource() {
      @Override
      public Optional<Tensor> find(String name) {
        return gguf.findTensor(name)
            .map(t -> new Tensor(name, t.type(), t.shape(), gguf.tensorData(t)));
      }

      @Override
      public String location() {
        return gguf.path().toString();
      }
    };
  }

  static TensorSource of(SafetensorsModel model) {
    return new TensorSource() {
      @Override
      public Optional<Tensor> find(String name) {
        Optional<SafetensorsTensor> t = model.find(name);
        return t.map(x -> new Tensor(name, model.ggmlType(name), x.ggmlShape(), model.data(name)));
      }

      @Override
      public String location() {
        return model.dir().toString();
      }
    };
  }
}

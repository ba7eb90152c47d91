package dev.duet.engine.model;

import dev.duet.engine.kv.KvCachePool;
import dev.duet.engine.kv.KvDtype;
import dev.duet.engine.kv.KvSequence;
import dev.duet.engine.tensor.ComputePool;
import dev.duet.engine.tensor.Kernels;
import dev.duet.engine.tensor.WeightMatrix;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;

/**
 * The Llama forward pass over a batch of rows (tokens of any sequences at any positions).
 *
 * <p>Per layer: RMSNorm, fused Q/K/V projection (plus biases, Qwen2), RoPE, K/V stored into the
 * paged cache, attention of each row over its sequence's cached keys {@code 0..pos}, output
 * projection and residual, RMSNorm, fused gate/up projection, SwiGLU, down projection and residual.
 * Then the final norm and the output head for the rows that want logits.
 *
 * <p><b>Why a row's result does not depend on the batch or the chunking.</b> (1) Every matrix
 * product element is one {@link Kernels#dot} of a weight row with one activation row, whose
 * summation order depends only on the length; threads split output rows, never a sum. (2) Norms,
 * RoPE and SwiGLU are per-row loops. (3) Attention reads K/V back from the cache (after storing the
 * batch's own rows), so a row sees the same stored values whether its keys came from this batch, an
 * earlier chunk or an earlier step; its scores, softmax and weighted sum run over {@code 0..pos} in
 * order. (4) exp/sin/cos use {@code StrictMath}, identical in the interpreter and compiled code.
 *
 * <p>Threading: one forward pass at a time per instance (the caller's step loop); the work inside
 * is spread over the {@link ComputePool}.
 */
final class ForwardPass {

  private static final int MATMUL_GRAIN = 16;

  private final LlamaConfig c;
  private final LlamaWeights w;
  private final ComputePool pool;
  private final Kernels k = Kernels.get();

  // Activations, (batch, width) row-major; grown on demand.
  private int capacity;
  private float[] x; // (batch, dim) residual stream
  private float[] xb; // (batch, dim) normed input / attention output
  private float[] q; // (batch, qDim)
  private float[] kv; // (batch, 2*kvDim): keys then values
  private float[] att; // (batch, qDim)
  private float[] gateUp; // (batch, 2*hidden): gate then up
  private float[] hb; // (batch, hidden)
  private float[] proj; // (batch, dim) projection output before the residual add

  ForwardPass(LlamaConfig c, LlamaWeights w, ComputePool pool) {
    this.c = c;
    this.w = w;
    this.pool = pool;
  }

  private void ensureCapacity(int batch) {
    if (batch <= capacity) {
      return;
    }
    int n = Math.max(batch, Math.min(2 * capacity, 4096));
    x = new float[n * c.dim()];
    xb = new float[n * c.dim()];
    q = new float[n * c.qDim()];
    kv = new float[n * 2 * c.kvDim()];
    att = new float[n * c.qDim()];
    gateUp = new float[n * 2 * c.hiddenDim()];
    hb = new float[n * c.hiddenDim()];
    proj = new float[n * c.dim()];
    capacity = n;
  }

  /** Runs the rows; returns logits (vocab) for each row that wants them, null for the others. */
  float[][] run(List<BatchRow> rows, KvCachePool cache) {
    return run(rows, cache, null);
  }

  /**
   * Runs the rows; {@code layerStored} (may be null) hears each layer index as soon as that layer's
   * keys and values for every row are in the cache, while later layers still compute.
   */
  float[][] run(
      List<BatchRow> rows, KvCachePool cache, java.util.function.IntConsumer layerStored) {
    int n = rows.size();
    ensureCapacity(n);
    int dim = c.dim();
    for (int b = 0; b < n; b++) {
      w.tokenEmbedding().row(rows.get(b).token(), x, b * dim);
    }
    float[][] cosSin = ropeTables(rows);
    for (int l = 0; l < c.nLayers(); l++) {
      LlamaWeights.Layer layer = w.layers().get(l);
      rmsNorm(x, layer.attnNorm(), xb, n);
      matmul(
          xb,
          dim,
          n,
          new Proj(layer.wq(), q, c.qDim(), 0),
          kvProj(layer.wk(), 0),
          kvProj(layer.wv(), c.kvDim()));
      for (int b = 0; b < n; b++) {
        if (layer.bq() != null) {
          addBias(layer.bq(), q, b * c.qDim());
          addBias(layer.bk(), kv, b * 2 * c.kvDim());
          addBias(layer.bv(), kv, b * 2 * c.kvDim() + c.kvDim());
        }
        c.rope().apply(q, b * c.qDim(), c.nHeads(), c.headDim(), cosSin[2 * b], cosSin[2 * b + 1]);
        c.rope()
            .apply(
                kv, b * 2 * c.kvDim(), c.nKvHeads(), c.headDim(), cosSin[2 * b], cosSin[2 * b + 1]);
        BatchRow row = rows.get(b);
        cache.storeRow(row.kv().keyOffset(l, row.pos()), kv, b * 2 * c.kvDim(), c.kvDim());
        cache.storeRow(
            row.kv().valueOffset(l, row.pos()), kv, b * 2 * c.kvDim() + c.kvDim(), c.kvDim());
      }
      if (layerStored != null) {
        layerStored.accept(l);
      }
      attention(rows, l, cache);
      matmul(att, c.qDim(), n, new Proj(layer.wo(), proj, dim, 0));
      addInPlace(x, proj, n * dim);
      rmsNorm(x, layer.ffnNorm(), xb, n);
      int hidden = c.hiddenDim();
      matmul(
          xb,
          dim,
          n,
          new Proj(layer.wGate(), gateUp, 2 * hidden, 0),
          new Proj(layer.wUp(), gateUp, 2 * hidden, hidden));
      swiGlu(n);
      matmul(hb, hidden, n, new Proj(layer.wDown(), proj, dim, 0));
      addInPlace(x, proj, n * dim);
    }
    return logits(rows);
  }

  private Proj kvProj(WeightMatrix m, int offset) {
    return new Proj(m, kv, 2 * c.kvDim(), offset);
  }

  private float[][] ropeTables(List<BatchRow> rows) {
    int half = c.rope().dims() / 2;
    float[][] t = new float[2 * rows.size()][];
    for (int b = 0; b < rows.size(); b++) {
      t[2 * b] = new float[half];
      t[2 * b + 1] = new float[half];
      c.rope().angles(rows.get(b).pos(), t[2 * b], t[2 * b + 1]);
    }
    return t;
  }

  /**
   * A projection: matrix {@code m} writes into {@code out} rows of width {@code stride} at {@code
   * offset}.
   */
  private record Proj(WeightMatrix m, float[] out, int stride, int offset) {}

  /** Runs several projections of the same input as one parallel loop over their stacked rows. */
  private void matmul(float[] in, int inStride, int batch, Proj... projs) {
    int total = 0;
    for (Proj p : projs) {
      total += p.m().rows();
    }
    pool.parallelFor(
        total,
        MATMUL_GRAIN,
        (from, to) -> {
          int base = 0;
          for (Proj p : projs) {
            int lo = Math.max(from, base);
            int hi = Math.min(to, base + p.m().rows());
            if (lo < hi) {
              p.m()
                  .multiply(
                      in, inStride, batch, p.out(), p.stride(), p.offset(), lo - base, hi - base);
            }
            base += p.m().rows();
          }
        });
  }

  private void rmsNorm(float[] in, float[] weight, float[] out, int batch) {
    int dim = c.dim();
    for (int b = 0; b < batch; b++) {
      int off = b * dim;
      float ss = k.dot(in, off, in, off, dim);
      float scale = (float) (1.0 / Math.sqrt(ss / dim + c.rmsEps()));
      for (int i = 0; i < dim; i++) {
        out[off + i] = weight[i] * (scale * in[off + i]);
      }
    }
  }

  private static void addBias(float[] bias, float[] out, int off) {
    for (int i = 0; i < bias.length; i++) {
      out[off + i] += bias[i];
    }
  }

  private static void addInPlace(float[] acc, float[] add, int n) {
    for (int i = 0; i < n; i++) {
      acc[i] += add[i];
    }
  }

  private void swiGlu(int batch) {
    int hidden = c.hiddenDim();
    pool.parallelFor(
        batch * hidden,
        512,
        (from, to) -> {
          for (int i = from; i < to; i++) {
            int b = i / hidden;
            int j = i % hidden;
            float g = gateUp[b * 2 * hidden + j];
            float u = gateUp[b * 2 * hidden + hidden + j];
            hb[i] = g / (1f + (float) StrictMath.exp(-g)) * u;
          }
        });
  }

  /** Attention of every (row, head) over the row's cached positions {@code 0..pos}. */
  private void attention(List<BatchRow> rows, int layer, KvCachePool cache) {
    int heads = c.nHeads();
    int headDim = c.headDim();
    int qDim = c.qDim();
    boolean f32 = cache.layout().dtype() == KvDtype.F32;
    MemorySegment kvSeg = cache.segment();
    float scale = (float) Math.sqrt(headDim);
    int blockSize = cache.layout().blockSize();
    long rowBytes = cache.layout().rowBytes();
    pool.parallelFor(
        rows.size() * heads,
        1,
        (from, to) -> {
          float[] scores = null;
          float[] rowBuf = f32 ? null : new float[headDim];
          for (int task = from; task < to; task++) {
            int b = task / heads;
            int h = task % heads;
            BatchRow row = rows.get(b);
            KvSequence seq = row.kv();
            int len = row.pos() + 1;
            if (scores == null || scores.length < len) {
              scores = new float[Math.max(len, 64)];
            }
            long headOff = 4L * (h / c.groupSize()) * headDim;
            long headOffStored =
                (long) cache.layout().dtype().bytes() * (h / c.groupSize()) * headDim;
            int qOff = b * qDim + h * headDim;
            if (f32) {
              scoreBlocks(kvSeg, seq, layer, headOff, len, qOff, blockSize, rowBytes, scores);
            } else {
              for (int t = 0; t < len; t++) {
                cache.loadRow(seq.keyOffset(layer, t) + headOffStored, rowBuf, 0, headDim);
                scores[t] = k.dot(rowBuf, 0, q, qOff, headDim);
              }
            }
            float max = Float.NEGATIVE_INFINITY;
            for (int t = 0; t < len; t++) {
              float s = scores[t] / scale;
              scores[t] = s;
              max = Math.max(max, s);
            }
            float sum = 0f;
            for (int t = 0; t < len; t++) {
              float e = (float) StrictMath.exp(scores[t] - max);
              scores[t] = e;
              sum += e;
            }
            for (int t = 0; t < len; t++) {
              scores[t] = scores[t] / sum;
            }
            Arrays.fill(att, qOff, qOff + headDim, 0f);
            if (f32) {
              for (int t = 0; t < len; t += blockSize - t % blockSize) {
                int count = Math.min(len, t - t % blockSize + blockSize) - t;
                k.axpyRows(
                    scores,
                    t,
                    count,
                    kvSeg,
                    seq.valueOffset(layer, t) + headOff,
                    rowBytes,
                    att,
                    qOff,
                    headDim);
              }
            } else {
              for (int t = 0; t < len; t++) {
                cache.loadRow(seq.valueOffset(layer, t) + headOffStored, rowBuf, 0, headDim);
                k.axpy(scores[t], rowBuf, 0, att, qOff, headDim);
              }
            }
          }
        });
  }

  /**
   * {@code scores[t] = q . key(t)} for {@code t < len}, one kernel call per cache block (the keys
   * of a block are rows {@code rowBytes} apart).
   */
  private void scoreBlocks(
      MemorySegment kvSeg,
      KvSequence seq,
      int layer,
      long headOff,
      int len,
      int qOff,
      int blockSize,
      long rowBytes,
      float[] scores) {
    for (int t = 0; t < len; t += blockSize - t % blockSize) {
      int count = Math.min(len, t - t % blockSize + blockSize) - t;
      k.dotRows(
          kvSeg,
          seq.keyOffset(layer, t) + headOff,
          rowBytes,
          count,
          q,
          qOff,
          c.headDim(),
          scores,
          t);
    }
  }

  private float[][] logits(List<BatchRow> rows) {
    int dim = c.dim();
    int n = 0;
    for (BatchRow r : rows) {
      n += r.wantLogits() ? 1 : 0;
    }
    float[][] result = new float[rows.size()][];
    if (n == 0) {
      return result;
    }
    float[] sel = new float[n * dim];
    int[] index = new int[n];
    for (int b = 0, i = 0; b < rows.size(); b++) {
      if (rows.get(b).wantLogits()) {
        System.arraycopy(x, b * dim, sel, i * dim, dim);
        index[i++] = b;
      }
    }
    float[] normed = new float[n * dim];
    rmsNorm(sel, w.outputNorm(), normed, n);
    int vocab = c.vocabSize();
    float[] out = new float[n * vocab];
    matmul(normed, dim, n, new Proj(w.output(), out, vocab, 0));
    for (int i = 0; i < n; i++) {
      result[index[i]] = Arrays.copyOfRange(out, i * vocab, (i + 1) * vocab);
    }
    return result;
  }
}

package dev.duet.engine.model;

import com.fasterxml.jackson.databind.JsonNode;
import dev.duet.engine.gguf.GgmlCodec;
import dev.duet.engine.safetensors.SafetensorsModel;

/**
 * A deliberately plain transcription of {@code transformers}' {@code LlamaForCausalLM} / {@code
 * Qwen2ForCausalLM} forward pass, in double precision, reading a safetensors directory by its
 * Hugging Face names: the oracle the engine's Hugging Face path is checked against. It shares no
 * code with the engine's forward pass or loader (only the safetensors reader and dtype decoder). No
 * KV cache: each call recomputes the whole sequence. Tiny models only.
 */
final class HfReferenceForward {

  private final SafetensorsModel st;
  private final int dim;
  private final int layers;
  private final int heads;
  private final int kvHeads;
  private final int headDim;
  private final int hidden;
  private final double eps;
  private final double theta;
  private final boolean tied;

  HfReferenceForward(SafetensorsModel st) {
    this.st = st;
    JsonNode c = st.config();
    dim = c.get("hidden_size").asInt();
    layers = c.get("num_hidden_layers").asInt();
    heads = c.get("num_attention_heads").asInt();
    kvHeads = c.get("num_key_value_heads").asInt();
    headDim = dim / heads;
    hidden = c.get("intermediate_size").asInt();
    eps = c.get("rms_norm_eps").asDouble();
    theta = c.get("rope_theta").asDouble();
    tied = c.path("tie_word_embeddings").asBoolean(false);
  }

  private double[] tensor(String name) {
    float[] f = new float[Math.toIntExact(st.tensor(name).elementCount())];
    GgmlCodec.decode(st.ggmlType(name), st.data(name), 0, f, 0, f.length);
    double[] d = new double[f.length];
    for (int i = 0; i < f.length; i++) {
      d[i] = f[i];
    }
    return d;
  }

  /** y = W x for W of shape (out, in), row-major. */
  private static double[] linear(double[] w, double[] x, int out) {
    int in = x.length;
    double[] y = new double[out];
    for (int o = 0; o < out; o++) {
      double s = 0;
      for (int i = 0; i < in; i++) {
        s += w[o * in + i] * x[i];
      }
      y[o] = s;
    }
    return y;
  }

  private double[] rmsNorm(double[] x, double[] w) {
    double ss = 0;
    for (double v : x) {
      ss += v * v;
    }
    double scale = 1 / Math.sqrt(ss / x.length + eps);
    double[] y = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      y[i] = w[i] * x[i] * scale;
    }
    return y;
  }

  /** transformers' apply_rotary_pos_emb: x*cos + rotate_half(x)*sin, per head. */
  private void rope(double[] v, int nHeads, int pos) {
    int half = headDim / 2;
    for (int h = 0; h < nHeads; h++) {
      int b = h * headDim;
      double[] out = new double[headDim];
      for (int i = 0; i < headDim; i++) {
        int pair = i % half;
        double invFreq = 1 / Math.pow(theta, 2.0 * pair / headDim);
        double angle = pos * invFreq;
        double rotated = i < half ? -v[b + i + half] : v[b + i - half];
        out[i] = v[b + i] * Math.cos(angle) + rotated * Math.sin(angle);
      }
      System.arraycopy(out, 0, v, b, headDim);
    }
  }

  private static void addBias(double[] v, SafetensorsModel st, String name, HfReferenceForward f) {
    if (st.find(name).isPresent()) {
      double[] b = f.tensor(name);
      for (int i = 0; i < v.length; i++) {
        v[i] += b[i];
      }
    }
  }

  /** The logits after the last token of {@code tokens}. */
  double[] lastLogits(int[] tokens) {
    int n = tokens.length;
    int kvDim = kvHeads * headDim;
    double[] emb = tensor("model.embed_tokens.weight");
    double[][] x = new double[n][dim];
    for (int t = 0; t < n; t++) {
      System.arraycopy(emb, tokens[t] * dim, x[t], 0, dim);
    }
    for (int l = 0; l < layers; l++) {
      String p = "model.layers." + l + ".";
      double[] wq = tensor(p + "self_attn.q_proj.weight");
      double[] wk = tensor(p + "self_attn.k_proj.weight");
      double[] wv = tensor(p + "self_attn.v_proj.weight");
      double[] wo = tensor(p + "self_attn.o_proj.weight");
      double[][] q = new double[n][];
      double[][] k = new double[n][];
      double[][] v = new double[n][];
      for (int t = 0; t < n; t++) {
        double[] h = rmsNorm(x[t], tensor(p + "input_layernorm.weight"));
        q[t] = linear(wq, h, heads * headDim);
        k[t] = linear(wk, h, kvDim);
        v[t] = linear(wv, h, kvDim);
        addBias(q[t], st, p + "self_attn.q_proj.bias", this);
        addBias(k[t], st, p + "self_attn.k_proj.bias", this);
        addBias(v[t], st, p + "self_attn.v_proj.bias", this);
        rope(q[t], heads, t);
        rope(k[t], kvHeads, t);
      }
      for (int t = 0; t < n; t++) {
        double[] att = new double[heads * headDim];
        for (int h = 0; h < heads; h++) {
          int kvh = h / (heads / kvHeads);
          double[] s = new double[t + 1];
          double max = Double.NEGATIVE_INFINITY;
          for (int u = 0; u <= t; u++) {
            double dot = 0;
            for (int i = 0; i < headDim; i++) {
              dot += q[t][h * headDim + i] * k[u][kvh * headDim + i];
            }
            s[u] = dot / Math.sqrt(headDim);
            max = Math.max(max, s[u]);
          }
          double sum = 0;
          for (int u = 0; u <= t; u++) {
            s[u] = Math.exp(s[u] - max);
            sum += s[u];
          }
          for (int u = 0; u <= t; u++) {
            for (int i = 0; i < headDim; i++) {
              att[h * headDim + i] += s[u] / sum * v[u][kvh * headDim + i];
            }
          }
        }
        double[] o = linear(wo, att, dim);
        for (int i = 0; i < dim; i++) {
          x[t][i] += o[i];
        }
      }
      double[] gate = tensor(p + "mlp.gate_proj.weight");
      double[] up = tensor(p + "mlp.up_proj.weight");
      double[] down = tensor(p + "mlp.down_proj.weight");
      for (int t = 0; t < n; t++) {
        double[] h = rmsNorm(x[t], tensor(p + "post_attention_layernorm.weight"));
        double[] g = linear(gate, h, hidden);
        double[] u = linear(up, h, hidden);
        for (int i = 0; i < hidden; i++) {
          g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
        }
        double[] d = linear(down, g, dim);
        for (int i = 0; i < dim; i++) {
          x[t][i] += d[i];
        }
      }
    }
    double[] last = rmsNorm(x[n - 1], tensor("model.norm.weight"));
    double[] head = tied ? emb : tensor("lm_head.weight");
    return linear(head, last, head.length / dim);
  }
}

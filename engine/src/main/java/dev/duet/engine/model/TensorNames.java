package dev.duet.engine.model;

/**
 * What a Llama-family checkpoint calls each of its tensors: llama.cpp's GGUF names or Hugging
 * Face's {@code transformers} names.
 */
enum TensorNames {
  GGUF("token_embd.weight", "output.weight", "output_norm.weight", "blk.%d.") {
    @Override
    String layerTensor(Part part) {
      return switch (part) {
        case ATTN_NORM -> "attn_norm.weight";
        case Q -> "attn_q.weight";
        case K -> "attn_k.weight";
        case V -> "attn_v.weight";
        case O -> "attn_output.weight";
        case Q_BIAS -> "attn_q.bias";
        case K_BIAS -> "attn_k.bias";
        case V_BIAS -> "attn_v.bias";
        case FFN_NORM -> "ffn_norm.weight";
        case GATE -> "ffn_gate.weight";
        case UP -> "ffn_up.weight";
        case DOWN -> "ffn_down.weight";
      };
    }
  },
  HUGGING_FACE(
      "model.embed_tokens.weight", "lm_head.weight", "model.norm.weight", "model.layers.%d.") {
    @Override
    String layerTensor(Part part) {
      return switch (part) {
        case ATTN_NORM -> "input_layernorm.weight";
        case Q -> "self_attn.q_proj.weight";
        case K -> "self_attn.k_proj.weight";
        case V -> "self_attn.v_proj.weight";
        case O -> "self_attn.o_proj.weight";
        case Q_BIAS -> "self_attn.q_proj.bias";
        case K_BIAS -> "self_attn.k_proj.bias";
        case V_BIAS -> "self_attn.v_proj.bias";
        case FFN_NORM -> "post_attention_layernorm.weight";
        case GATE -> "mlp.gate_proj.weight";
        case UP -> "mlp.up_proj.weight";
        case DOWN -> "mlp.down_proj.weight";
      };
    }
  };

  /** The tensors of one transformer block. */
  enum Part {
    ATTN_NORM,
    Q,
    K,
    V,
    O,
    Q_BIAS,
    K_BIAS,
    V_BIAS,
    FFN_NORM,
    GATE,
    UP,
    DOWN
  }

  final String embedding;
  final String output;
  final String outputNorm;
  private final String layerPrefix;

  TensorNames(String embedding, String output, String outputNorm, String layerPrefix) {
    this.embedding = embedding;
    this.output = output;
    this.outputNorm = outputNorm;
    this.layerPrefix = layerPrefix;
  }

  abstract String layerTensor(Part part);

  /** The full name of {@code part} in block {@code layer}. */
  String layer(int layer, Part part) {
    return layerPrefix.formatted(layer) + layerTensor(part);
  }
}

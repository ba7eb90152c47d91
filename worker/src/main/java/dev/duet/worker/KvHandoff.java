package dev.duet.worker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.duet.engine.exec.BatchScheduler;
import dev.duet.engine.exec.Generation;
import dev.duet.engine.kv.KvCachePool;
import dev.duet.engine.kv.KvLayout;
import dev.duet.engine.kv.KvSequence;
import dev.duet.kvtransfer.KvEndpoint;
import dev.duet.kvtransfer.KvRegion;
import dev.duet.kvtransfer.KvTransferNode;
import dev.duet.kvtransfer.TransferChannel;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Moves a prompt's KV from a prefill instance into the blocks a decode instance reserved for it,
 * over kv-transfer. The decode side answers a reservation with a ticket (its KV endpoint, its
 * pool's registered region, the reserved block ids and the layout's sizes); the prefill side writes
 * every layer's blocks to the ticket's offsets in one scatter write, then a notify whose completion
 * says the bytes are in place.
 *
 * <p>Threading: {@link #push} runs on the prefill instance's step thread; channels are cached per
 * peer and thread-safe.
 */
public final class KvHandoff implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final KvTransferNode node;
  private final KvCachePool pool;
  private final KvRegion region; // this instance's pool, when peers write into it
  private final Map<String, TransferChannel> channels = new ConcurrentHashMap<>();
  private final java.util.concurrent.atomic.AtomicBoolean closed =
      new java.util.concurrent.atomic.AtomicBoolean();

  /**
   * @param region the registered region of {@code pool}'s memory (decode side), or null
   */
  public KvHandoff(KvTransferNode node, KvCachePool pool, KvRegion region) {
    this.node = node;
    this.pool = pool;
    this.region = region;
  }

  /**
   * A pool that can both write out and take in (a worker that may flip between prefill and decode):
   * {@link #decodeSide}.
   */
  public static KvHandoff registered(KvTransferNode node, KvLayout layout) {
    return decodeSide(node, layout);
  }

  /**
   * The decode side: a KV pool of {@code layout} in memory the node allocates (a shared-memory file
   * when it can, so a same-host prefill instance writes into it directly), registered so peers can
   * write into it. Build the engine on {@link #pool()}.
   */
  public static KvHandoff decodeSide(KvTransferNode node, KvLayout layout) {
    MemorySegment memory = node.allocate(layout.totalBytes());
    KvCachePool pool = new KvCachePool(layout, memory);
    return new KvHandoff(node, pool, node.register(memory));
  }

  /** The prefill side: writes from {@code pool} (the engine's own) to decode instances. */
  public static KvHandoff prefillSide(KvTransferNode node, KvCachePool pool) {
    return new KvHandoff(node, pool, null);
  }

  /** The pool this handoff reads from (prefill) or peers write into (decode). */
  public KvCachePool pool() {
    return pool;
  }

  /** The ticket for blocks reserved here. */
  public ObjectNode ticket(KvSequence reserved) {
    if (region == null) {
      throw new IllegalStateException("this instance's KV pool is not registered for transfers");
    }
    KvLayout l = pool.layout();
    ObjectNode t = JSON.createObjectNode();
    t.put("kv_endpoint", node.endpoint().encode());
    t.put("region", region.encode());
    t.set("block_ids", JSON.valueToTree(reserved.blockIds()));
    t.put("block_bytes", l.blockBytes());
    t.put("layer_bytes", l.layerBytes());
    t.put("block_size", l.blockSize());
    return t;
  }

  /**
   * The scheduler handoff for a request going to {@code ticket}'s blocks: each layer is written as
   * soon as the pass that completes the prompt has stored it (the transfer of layer L overlaps the
   * compute of layer L+1); at the first token it waits for every write, sends the notify that says
   * the KV is in place, then runs {@code done} (which takes the snapshot).
   */
  public BatchScheduler.Handoff handoff(JsonNode ticket, Consumer<Generation> done) {
    return new BatchScheduler.Handoff() {
      private final List<CompletableFuture<Void>> writes = new ArrayList<>();
      private Target target;

      @Override
      public void layerReady(Generation g, int layer) {
        if (target == null) {
          target = target(ticket, g.promptLength());
        }
        writes.add(target.write(layer, g.kv().blockIds()));
      }

      @Override
      public void firstToken(Generation g) {
        if (target == null) { // no layer events: write everything now
          target = target(ticket, g.promptLength());
          for (int layer = 0; layer < pool.layout().numLayers(); layer++) {
            writes.add(target.write(layer, g.kv().blockIds()));
          }
        }
        CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).join();
        target.channel().notify(g.promptLength()).join();
        done.accept(g);
      }
    };
  }

  /**
   * The blocks a peer reserved for {@code ticket} (a live migration's target), for staged copies:
   * see {@link Target#copy} and {@link Target#commit}.
   */
  Target destination(JsonNode ticket) {
    return target(ticket, 0);
  }

  /** Where one request's KV goes: the channel, region and block ids of a ticket. */
  record Target(
      TransferChannel channel,
      KvRegion region,
      long[] dstBlocks,
      long layerBytes,
      KvCachePool pool) {

    CompletableFuture<Void> write(int layer, int[] srcBlocks) {
      KvLayout l = pool.layout();
      List<MemorySegment> slices = new ArrayList<>(dstBlocks.length);
      long[] offsets = new long[dstBlocks.length];
      for (int b = 0; b < dstBlocks.length; b++) {
        slices.add(pool.segment().asSlice(pool.blockOffset(layer, srcBlocks[b]), l.blockBytes()));
        offsets[b] = layer * layerBytes + dstBlocks[b] * l.blockBytes();
      }
      return channel.write(slices, region, offsets);
    }

    /**
     * Copies the blocks holding positions {@code [from, to)} in every layer, in one scatter write
     * (the block of position {@code from} again when it was partly copied before). Completes with
     * the bytes written.
     */
    CompletableFuture<Long> copy(int[] srcBlocks, int from, int to) {
      KvLayout l = pool.layout();
      int first = from / l.blockSize();
      int end = (to + l.blockSize() - 1) / l.blockSize();
      if (end > dstBlocks.length) {
        throw new IllegalStateException(
            "the target reserved "
                + dstBlocks.length
                + " blocks; "
                + to
                + " positions need "
                + end);
      }
      if (end <= first) {
        return CompletableFuture.completedFuture(0L);
      }
      List<MemorySegment> slices = new ArrayList<>();
      long[] offsets = new long[(end - first) * l.numLayers()];
      for (int layer = 0; layer < l.numLayers(); layer++) {
        for (int b = first; b < end; b++) {
          offsets[slices.size()] = layer * layerBytes + dstBlocks[b] * l.blockBytes();
          slices.add(pool.segment().asSlice(pool.blockOffset(layer, srcBlocks[b]), l.blockBytes()));
        }
      }
      long bytes = slices.size() * l.blockBytes();
      return channel.write(slices, region, offsets).thenApply(v -> bytes);
    }

    /** The notify after the last copy: when it completes, every byte is in the target's blocks. */
    CompletableFuture<Void> commit(long tag) {
      return channel.notify(tag);
    }
  }

  private Target target(JsonNode ticket, int tokens) {
    KvLayout l = pool.layout();
    if (ticket.path("block_bytes").asLong() != l.blockBytes()
        || ticket.path("block_size").asInt() != l.blockSize()) {
      throw new IllegalStateException(
          "the decode instance's KV layout differs from this one's: " + ticket);
    }
    int blocks = (tokens + l.blockSize() - 1) / l.blockSize();
    JsonNode dst = ticket.path("block_ids");
    if (dst.size() < blocks) {
      throw new IllegalStateException(
          "the ticket reserves " + dst.size() + " blocks; the prompt needs " + blocks);
    }
    if (tokens == 0) {
      blocks = dst.size(); // a migration's target: every reserved block
    }
    long[] ids = new long[blocks];
    for (int b = 0; b < blocks; b++) {
      ids[b] = dst.get(b).asLong();
    }
    KvEndpoint peer = KvEndpoint.decode(ticket.path("kv_endpoint").asText());
    TransferChannel channel =
        channels.compute(
            peer.encode(), (key, c) -> c != null && c.isOpen() ? c : node.connect(peer));
    return new Target(
        channel,
        KvRegion.decode(ticket.path("region").asText()),
        ids,
        ticket.path("layer_bytes").asLong(),
        pool);
  }

  /** Closes the channels and the node (idempotent). */
  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      channels.values().forEach(TransferChannel::close);
      node.close();
    }
  }
}

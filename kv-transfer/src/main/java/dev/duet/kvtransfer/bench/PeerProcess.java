package dev.duet.kvtransfer.bench;

import dev.duet.kvtransfer.KvEndpoint;
import dev.duet.kvtransfer.KvRegion;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A {@link KvPeer} running as a separate JVM (same java binary and class path as this one), with
 * its announced endpoint and region, a line-command interface, and its printed notifications.
 *
 * <p>Threading: one daemon thread reads the child's output; the rest is for the thread that owns
 * this object. {@link #close()} asks the child to exit and kills it if it does not.
 */
public final class PeerProcess implements AutoCloseable {
  private final Process process;
  private final PrintStream stdin;
  private final BlockingQueue<String> replies = new LinkedBlockingQueue<>();
  private final BlockingQueue<String> notifications = new LinkedBlockingQueue<>();
  private KvEndpoint endpoint;
  private KvRegion region;
  private int sinkPort = -1;

  private PeerProcess(Process process) {
    this.process = process;
    this.stdin = new PrintStream(process.getOutputStream(), true, StandardCharsets.UTF_8);
    Thread.ofPlatform().daemon().name("kv-peer-out-" + process.pid()).start(this::pump);
  }

  /** Starts a peer with {@link KvPeer}'s arguments and waits (up to 30 s) until it is ready. */
  public static PeerProcess start(List<String> peerArgs) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(List.of("--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-XX:+UseSerialGC"));
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), KvPeer.class.getName()));
    cmd.addAll(peerArgs);
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    PeerProcess peer = new PeerProcess(p);
    try {
      for (String line; !(line = peer.reply(30)).equals("ready") && !line.equals("blasting"); ) {
        String[] kv = line.split(" ", 2);
        switch (kv[0]) {
          case "endpoint" -> peer.endpoint = KvEndpoint.decode(kv[1]);
          case "region" -> peer.region = KvRegion.decode(kv[1]);
          case "sink" -> peer.sinkPort = Integer.parseInt(kv[1]);
          default -> throw new IOException("unexpected line from kv peer: " + line);
        }
      }
    } catch (IOException | RuntimeException e) {
      peer.kill();
      throw e;
    }
    return peer;
  }

  private void pump() {
    try (BufferedReader r =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = r.readLine()) != null; ) {
        (line.startsWith("notify ") ? notifications : replies).add(line);
      }
    } catch (IOException e) {
      // the process ended
    }
  }

  private String reply(int seconds) throws IOException {
    try {
      String line = replies.poll(seconds, TimeUnit.SECONDS);
      if (line == null) {
        throw new IOException(
            "kv peer (pid "
                + process.pid()
                + ") said nothing for "
                + seconds
                + " s"
                + (process.isAlive() ? "" : "; it exited with " + process.exitValue()));
      }
      return line;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted waiting for kv peer", e);
    }
  }

  /** Sends a command and returns the value after the reply's keyword (e.g. "crc" → the crc). */
  public String command(String command) throws IOException {
    stdin.println(command);
    String line = reply(30);
    int sp = line.indexOf(' ');
    return sp < 0 ? line : line.substring(sp + 1);
  }

  public KvEndpoint endpoint() {
    return endpoint;
  }

  public KvRegion region() {
    return region;
  }

  public int sinkPort() {
    return sinkPort;
  }

  public long pid() {
    return process.pid();
  }

  /** Lines {@code notify <writer> <tag> [crc]} in the order the peer printed them. */
  public BlockingQueue<String> notifications() {
    return notifications;
  }

  /** {@code kill -9}. */
  public void kill() {
    process.destroyForcibly();
    try {
      process.waitFor(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Asks the peer to exit cleanly; returns its exit code (kills it after 10 s). */
  @Override
  public void close() {
    if (process.isAlive()) {
      stdin.println("exit");
      stdin.close();
    }
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        kill();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      kill();
    }
  }

  public int exitValue() {
    return process.exitValue();
  }
}

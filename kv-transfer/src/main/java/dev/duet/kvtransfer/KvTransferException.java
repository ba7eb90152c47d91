package dev.duet.kvtransfer;

/**
 * A transfer that failed, with the {@link Reason} a caller can act on and a message that names the
 * peer, region, offset or value at fault. Futures returned by {@link TransferChannel} complete
 * exceptionally with this type.
 */
public final class KvTransferException extends RuntimeException {

  /** Why a transfer failed. Codes travel on the wire; keep them stable. */
  public enum Reason {
    UNKNOWN_REGION(1),
    OUT_OF_BOUNDS(2),
    BAD_ACCESS_KEY(3),
    AUTH_FAILED(4),
    PEER_FAILED(5),
    TIMEOUT(6),
    CANCELLED(7),
    PROTOCOL(8),
    CLOSED(9);

    private final int code;

    Reason(int code) {
      this.code = code;
    }

    public int code() {
      return code;
    }

    public static Reason ofCode(int code) {
      for (Reason r : values()) {
        if (r.code == code) {
          return r;
        }
      }
      return PROTOCOL;
    }
  }

  private final Reason reason;

  public KvTransferException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public KvTransferException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}

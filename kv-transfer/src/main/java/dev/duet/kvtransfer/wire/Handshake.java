package dev.duet.kvtransfer.wire;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Channel authentication: the receiver sends a random nonce, the writer answers with
 * HMAC-SHA256(secret, nonce), the receiver compares in constant time. Without a secret the answer
 * is 32 zero bytes and the receiver, having no secret either, accepts it. Stateless.
 */
public final class Handshake {
  private Handshake() {}

  public static byte[] answer(Optional<String> secret, byte[] nonce) {
    if (secret.isEmpty()) {
      return new byte[Wire.MAC_BYTES];
    }
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.get().getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      return mac.doFinal(nonce);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is not available in this JDK", e);
    }
  }

  public static boolean accepts(Optional<String> secret, byte[] nonce, byte[] answer) {
    return secret.isEmpty() || MessageDigest.isEqual(answer(secret, nonce), answer);
  }
}

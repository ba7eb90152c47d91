package dev.duet.engine.hub;

import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * One file of a repository as the hub lists it.
 *
 * @param path the file's path in the repository ({@code rfilename})
 * @param size its size in bytes, or -1 when the listing did not say
 * @param sha256 the sha256 of its content (lowercase hex), known for LFS files
 */
public record RepoFile(String path, long size, Optional<String> sha256) {
  private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

  public RepoFile {
    Objects.requireNonNull(path, "path");
    Objects.requireNonNull(sha256, "sha256");
    if (path.isEmpty()) {
      throw new IllegalArgumentException("path must not be empty");
    }
    if (size < -1) {
      throw new IllegalArgumentException("size must be -1 (unknown) or >= 0: " + size);
    }
    sha256.ifPresent(
        s -> {
          if (!SHA256.matcher(s).matches()) {
            throw new IllegalArgumentException("sha256 of " + path + " is not 64 hex digits: " + s);
          }
        });
  }

  /** The file name, after the last {@code /}. */
  public String name() {
    return path.substring(path.lastIndexOf('/') + 1);
  }

  /** Whether this file sits at the repository's top level. */
  public boolean topLevel() {
    return path.indexOf('/') < 0;
  }
}

package dev.duet.engine.hub;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

/**
 * The on-disk layout of downloaded repositories, the same shape as {@code huggingface_hub}'s cache
 * (without its blob deduplication):
 *
 * <pre>
 * ROOT/models--ORG--REPO/
 *   refs/REVISION                 the commit sha REVISION last resolved to (e.g. refs/main)
 *   snapshots/COMMIT/PATH         the files, as in the repository at COMMIT
 *   snapshots/COMMIT/PATH.incomplete   a download in progress, resumed by the next attempt
 * </pre>
 *
 * <p>Refs let an offline run resolve {@code main} to the commit fetched last. Files are moved into
 * place only when complete and verified, so a snapshot file that exists is whole. Stateless apart
 * from the directory it names; safe to use from several threads (refs are replaced atomically).
 */
final class HubCache {
  static final String INCOMPLETE = ".incomplete";

  /** The hub cache directory, see {@link HubConfig#cacheDir()}. */
  private final Path root;

  HubCache(Path root) {
    this.root = root;
  }

  Path root() {
    return root;
  }

  /** {@code ROOT/models--ORG--REPO}. */
  Path repoDir(HfSpec spec) {
    return root.resolve("models--" + spec.org() + "--" + spec.repo());
  }

  Path snapshotDir(HfSpec spec, String commit) {
    return repoDir(spec).resolve("snapshots").resolve(commit);
  }

  /** Where {@code path} of the repository at {@code commit} lives. */
  Path file(HfSpec spec, String commit, String path) {
    Path snapshot = snapshotDir(spec, commit);
    Path file = snapshot.resolve(path).normalize();
    if (!file.startsWith(snapshot)) {
      throw new IllegalArgumentException("path escapes the snapshot directory: " + path);
    }
    return file;
  }

  static Path incomplete(Path file) {
    return file.resolveSibling(file.getFileName() + INCOMPLETE);
  }

  /**
   * The commit {@code spec}'s revision stands for in the cache: the revision itself when it is a
   * commit sha, else what {@code refs/REVISION} recorded.
   */
  Optional<String> cachedCommit(HfSpec spec) throws IOException {
    if (spec.revisionIsCommit()) {
      return Optional.of(spec.revision());
    }
    Path ref = refFile(spec);
    if (!Files.isRegularFile(ref)) {
      return Optional.empty();
    }
    String commit = Files.readString(ref, StandardCharsets.US_ASCII).strip();
    if (!HfSpec.isCommit(commit)) {
      throw new HubException("cache ref " + ref + " does not hold a commit sha: '" + commit + "'");
    }
    return Optional.of(commit);
  }

  /** Records that {@code spec}'s revision resolved to {@code commit} (no-op for a commit sha). */
  void writeRef(HfSpec spec, String commit) throws IOException {
    if (spec.revision().equals(commit)) {
      return;
    }
    Path ref = refFile(spec);
    Files.createDirectories(ref.getParent());
    Path tmp = ref.resolveSibling(ref.getFileName() + ".tmp" + ProcessHandle.current().pid());
    Files.writeString(tmp, commit, StandardCharsets.US_ASCII);
    try {
      Files.move(tmp, ref, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(tmp, ref, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  private Path refFile(HfSpec spec) {
    Path refs = repoDir(spec).resolve("refs");
    Path ref = refs.resolve(spec.revision()).normalize();
    if (!ref.startsWith(refs)) {
      throw new IllegalArgumentException("revision escapes the refs directory: " + spec.revision());
    }
    return ref;
  }
}

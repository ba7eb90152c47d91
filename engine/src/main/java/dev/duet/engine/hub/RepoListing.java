package dev.duet.engine.hub;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A repository's files at one commit, as {@code GET /api/models/ORG/REPO/revision/REV?blobs=true}
 * returns them.
 *
 * @param commit the commit sha the revision resolved to
 * @param files every file in the repository at that commit
 */
public record RepoListing(String commit, List<RepoFile> files) {
  public RepoListing {
    Objects.requireNonNull(commit, "commit");
    if (!HfSpec.isCommit(commit)) {
      throw new IllegalArgumentException("commit is not a 40-hex-digit sha: " + commit);
    }
    files = List.copyOf(files);
  }

  /** The file at {@code path}, if the repository has it. */
  public Optional<RepoFile> file(String path) {
    return files.stream().filter(f -> f.path().equals(path)).findFirst();
  }
}

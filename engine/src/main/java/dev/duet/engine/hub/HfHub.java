package dev.duet.engine.hub;

import java.io.IOException;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Resolves {@code hf:} specs ({@link HfSpec}) to local paths, downloading into the cache ({@link
 * HubCache}) what is not there yet: a single file for {@code hf:ORG/REPO/PATH}, the files a model
 * directory needs ({@link ModelFiles}) for {@code hf:ORG/REPO}.
 *
 * <p>Online, each resolve asks the hub which commit the revision is at (one small API request) and
 * downloads only files missing from that commit's snapshot; a file pinned to a commit sha that is
 * already cached needs no request at all. Offline ({@code HF_HUB_OFFLINE=1}, or the endpoint does
 * not answer) it resolves the revision through the cached ref, tells the {@link DownloadListener}
 * "offline: using cached ...", and fails with a message saying so when the cache lacks the files.
 *
 * <p>Not thread-safe: one resolve at a time per instance. Close it to release the HTTP client.
 */
public final class HfHub implements AutoCloseable {
  private static final int LISTED_FILES_IN_ERRORS = 20;

  private final HubConfig config;
  private final DownloadListener listener;
  private final HttpClient http;
  private final HubApi api;
  private final HubCache cache;
  private final FileDownloader downloader;

  public HfHub(HubConfig config, DownloadListener listener) {
    this.config = Objects.requireNonNull(config, "config");
    this.listener = Objects.requireNonNull(listener, "listener");
    this.http =
        HttpClient.newBuilder()
            .connectTimeout(config.connectTimeout())
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
    this.api = new HubApi(config, http);
    this.cache = new HubCache(config.cacheDir());
    this.downloader = new FileDownloader(api, config.readTimeout(), listener);
  }

  /** Parses {@code spec} ({@code hf:ORG/REPO[/PATH][@REVISION]}) and resolves it. */
  public Path resolve(String spec) throws IOException {
    return resolve(HfSpec.parse(spec));
  }

  /**
   * The local path of {@code spec}: the file for a file spec, the snapshot directory for a
   * repository spec.
   *
   * @throws HubException naming the spec, file or URL and what to do about it
   */
  public Path resolve(HfSpec spec) throws IOException {
    if (config.offline()) {
      return cached(spec, HubConfig.ENV_OFFLINE + " is set");
    }
    if (spec.revisionIsCommit() && spec.isFile()) {
      Path pinned = cache.file(spec, spec.revision(), spec.path().orElseThrow());
      if (Files.isRegularFile(pinned)) {
        return pinned;
      }
    }
    RepoListing listing;
    try {
      listing = api.listing(spec);
    } catch (HubUnreachableException e) {
      return cached(spec, e.getMessage());
    }
    cache.writeRef(spec, listing.commit());
    return spec.isFile() ? fetchFile(spec, listing) : fetchDirectory(spec, listing);
  }

  private Path fetchFile(HfSpec spec, RepoListing listing) throws IOException {
    String path = spec.path().orElseThrow();
    RepoFile file =
        listing
            .file(path)
            .orElseThrow(
                () ->
                    new HubException(
                        "file "
                            + path
                            + " not found in "
                            + HfSpec.PREFIX
                            + spec.repoId()
                            + " at revision "
                            + spec.revision()
                            + " (commit "
                            + listing.commit()
                            + "); its files: "
                            + someFiles(listing)));
    return ensure(spec, listing.commit(), file);
  }

  private Path fetchDirectory(HfSpec spec, RepoListing listing) throws IOException {
    String commit = listing.commit();
    for (RepoFile file : ModelFiles.select(spec, listing)) {
      Path local = ensure(spec, commit, file);
      if (file.path().equals(ModelFiles.INDEX)) {
        for (String shard : ModelFiles.shardsOf(local)) {
          RepoFile shardFile =
              listing
                  .file(shard)
                  .orElseThrow(
                      () ->
                          new HubException(
                              ModelFiles.INDEX
                                  + " of "
                                  + spec
                                  + " names shard "
                                  + shard
                                  + ", which the repository does not have"));
          ensure(spec, commit, shardFile);
        }
      }
    }
    return cache.snapshotDir(spec, commit);
  }

  /** The cached copy of {@code file}, downloaded first unless it is there with the right size. */
  private Path ensure(HfSpec spec, String commit, RepoFile file) throws IOException {
    Path target = cache.file(spec, commit, file.path());
    boolean cached =
        Files.isRegularFile(target) && (file.size() < 0 || Files.size(target) == file.size());
    if (!cached) {
      downloader.fetch(spec, commit, file, target);
    }
    return target;
  }

  private Path cached(HfSpec spec, String why) throws IOException {
    Optional<String> commit = cache.cachedCommit(spec);
    String notCached =
        "offline ("
            + why
            + ") and "
            + spec
            + " is not in the cache under "
            + cache.repoDir(spec)
            + "; run once with the hub reachable"
            + (config.offline() ? " and " + HubConfig.ENV_OFFLINE + " unset" : "");
    if (commit.isEmpty()) {
      throw new HubException(notCached);
    }
    Path local;
    if (spec.isFile()) {
      local = cache.file(spec, commit.get(), spec.path().orElseThrow());
      if (!Files.isRegularFile(local)) {
        throw new HubException(notCached);
      }
    } else {
      local = cache.snapshotDir(spec, commit.get());
      if (!Files.isDirectory(local)) {
        throw new HubException(notCached);
      }
      Optional<String> missing = ModelFiles.incompleteReason(local);
      if (missing.isPresent()) {
        throw new HubException(
            notCached
                + " (the cached snapshot "
                + local
                + " is incomplete: "
                + missing.get()
                + ")");
      }
    }
    listener.notice(
        "offline ("
            + why
            + "): using cached "
            + spec
            + " at commit "
            + commit.get().substring(0, 12)
            + ": "
            + local);
    return local;
  }

  private static String someFiles(RepoListing listing) {
    List<String> names = listing.files().stream().map(RepoFile::path).toList();
    if (names.size() <= LISTED_FILES_IN_ERRORS) {
      return String.join(", ", names);
    }
    return String.join(", ", names.subList(0, LISTED_FILES_IN_ERRORS))
        + " and "
        + (names.size() - LISTED_FILES_IN_ERRORS)
        + " more";
  }

  @Override
  public void close() {
    http.close();
  }
}

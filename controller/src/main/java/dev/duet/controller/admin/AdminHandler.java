package dev.duet.controller.admin;

import io.vertx.core.Future;

/**
 * Answers one operator endpoint. Runs on the controller's event loop: it must not block (hand
 * blocking work to a worker pool and complete the future from there).
 *
 * <p>To refuse a call, fail the future (or throw) with an {@link
 * dev.duet.controller.openai.ApiException}: its error is sent as is (e.g. a 404 for an unknown
 * request id, a 409 for a conflicting state). Any other failure is a 500.
 */
@FunctionalInterface
public interface AdminHandler {
  Future<AdminReply> handle(AdminCall call);
}

package dev.duet.worker;

/** A worker's answer to a request it is offered. */
public enum Admission {
  /** Queued: its events will follow. */
  ACCEPTED,
  /** The queue is full. */
  QUEUE_FULL,
  /**
   * The prefill backlog ahead of it, at the measured prefill rate, would make its first token later
   * than the TTFT budget: refused at once so the controller can offer it elsewhere.
   */
  TTFT_BUDGET
}

package io.gnomon.spanner.check;

/**
 * One edge of a reported cycle and the fact that justifies it.
 *
 * @param from      source transaction (checker id, see {@link CheckResult#txn(int)})
 * @param to        target transaction
 * @param type      ww, wr, rw or realtime
 * @param key       the key whose version order gives the edge; {@code null} for realtime
 * @param value     ww/rw: the target's appended element; wr: the last element the target read
 * @param prevValue ww: the source's element right before {@code value}, or (unread) the last element of the
 *                  key's version order; rw: the last element the source read, {@code null} for an empty read;
 *                  otherwise {@code null}
 * @param unread    ww/rw only: {@code value} is an element no read returned, so it comes after every element
 *                  any read returned (lists only grow), though what comes right before it is unknown
 */
public record Dependency(int from, int to, EdgeType type, String key, Long value, Long prevValue, boolean unread) {
}

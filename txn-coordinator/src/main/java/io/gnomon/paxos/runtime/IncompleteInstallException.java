package io.gnomon.paxos.runtime;

/**
 * A {@link StateMachine}'s state is not a state of its group: a snapshot install is under way, or a crash
 * interrupted one ({@link StateMachine.SnapshotSink#finish()} had not returned). Thrown by
 * {@link StateMachine#appliedIndex()} (and by apply, query and openSnapshot) until a new install finishes. The
 * host acts on it by fetching a snapshot from a peer and installing it with {@link StateMachine#beginInstall}
 * (which such a machine accepts whatever the end index): the log alone cannot rebuild the state.
 */
public final class IncompleteInstallException extends IllegalStateException {
    public IncompleteInstallException(String message, Throwable cause) {
        super(message, cause);
    }
}

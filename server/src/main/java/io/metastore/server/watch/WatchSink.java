package io.metastore.server.watch;

/** The transport side of a watch stream: told when messages are waiting in the stream's queue. */
public interface WatchSink {
    void messagesAvailable();
}

package io.metastore.server.http;

/**
 * The answer to one {@link HttpRequest}. Either {@link #respond} once, or {@link #startStream} followed by
 * any number of {@link #writeChunk} and one {@link #endStream} (chunked transfer encoding, as etcd's gateway
 * streams watch and keep-alive results). Every method may be called from any thread; calls after the
 * exchange ended are ignored.
 */
public interface HttpResponder {

    /**
     * Adds a header to the response, before {@link #respond} or {@link #startStream} (ignored after). The transport
     * sets Content-Type, Content-Length / Transfer-Encoding and Date itself. Returns this for chaining.
     */
    default HttpResponder header(String name, String value) {
        return this;
    }

    /** A whole response with a Content-Length. */
    void respond(int status, String contentType, byte[] body);

    /** Sends the status and headers of a chunked response. */
    void startStream(int status, String contentType);

    /** One chunk; flushed at once, since a watch event must not wait for the next one. */
    void writeChunk(byte[] chunk);

    void endStream();

    /**
     * Runs {@code callback} once when the exchange is over: the response ended, the client went away, or the
     * server is shutting down. Streaming routes cancel their work here. Runs at once if it is over already.
     */
    void onClose(Runnable callback);
}

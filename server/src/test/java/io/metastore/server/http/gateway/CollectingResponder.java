package io.metastore.server.http.gateway;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.metastore.server.http.HttpResponder;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Test scaffolding standing in for the HTTP transport: records what a route answers, whole or chunked, and can
 * play a client that goes away ({@link #clientGoesAway()} runs the route's onClose callbacks).
 */
final class CollectingResponder implements HttpResponder {
    private final CountDownLatch ended = new CountDownLatch(1);
    private final List<Runnable> onClose = new CopyOnWriteArrayList<>();
    private final List<byte[]> chunks = new CopyOnWriteArrayList<>();
    /** Chunks a route still wrote after the exchange was over (it should have stopped). */
    private final List<byte[]> late = new CopyOnWriteArrayList<>();
    private volatile int status;
    private volatile String contentType;
    private volatile byte[] body;
    private volatile boolean streamed;
    private volatile boolean closed;

    @Override
    public void respond(int status, String contentType, byte[] body) {
        this.status = status;
        this.contentType = contentType;
        this.body = body;
        end();
    }

    @Override
    public void startStream(int status, String contentType) {
        this.status = status;
        this.contentType = contentType;
        this.streamed = true;
    }

    @Override
    public void writeChunk(byte[] chunk) {
        (closed ? late : chunks).add(chunk);
    }

    @Override
    public void endStream() {
        end();
    }

    @Override
    public void onClose(Runnable callback) {
        if (closed) {
            callback.run();
        } else {
            onClose.add(callback);
        }
    }

    private void end() {
        if (!closed) {
            ended.countDown();
            clientGoesAway();
        }
    }

    /** The exchange is over (the response ended, or the client disconnected): the onClose callbacks run. */
    void clientGoesAway() {
        closed = true;
        for (Runnable r : onClose) {
            r.run();
        }
        onClose.clear();
    }

    /** Waits (bounded) for a whole response or the end of a stream. */
    CollectingResponder awaitEnd() throws InterruptedException {
        if (!ended.await(10, TimeUnit.SECONDS)) {
            throw new AssertionError("no complete response within 10 s; chunks so far: " + lines());
        }
        return this;
    }

    boolean ended() {
        return ended.getCount() == 0;
    }

    /** Waits (bounded) until at least {@code n} chunks arrived. */
    List<JsonObject> awaitChunks(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (chunks.size() < n) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("expected " + n + " chunks within 10 s, got " + lines());
            }
            Thread.sleep(10);
        }
        return lines();
    }

    int status() {
        return status;
    }

    String contentType() {
        return contentType;
    }

    boolean streamed() {
        return streamed;
    }

    String bodyText() {
        return new String(body, StandardCharsets.UTF_8);
    }

    JsonObject json() {
        return JsonParser.parseString(bodyText()).getAsJsonObject();
    }

    /** The chunked body, as its newline-separated JSON objects. */
    List<JsonObject> lines() {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (byte[] c : chunks) {
            all.writeBytes(c);
        }
        List<JsonObject> out = new ArrayList<>();
        for (String line : all.toString(StandardCharsets.UTF_8).split("\n")) {
            if (!line.isEmpty()) {
                out.add(JsonParser.parseString(line).getAsJsonObject());
            }
        }
        return out;
    }

    int lateChunks() {
        return late.size();
    }
}

package io.metastore.server.ops;

import io.metastore.server.http.HttpResponder;

import java.nio.charset.StandardCharsets;

/** The answers Go's net/http gives the operational endpoints, byte for byte. */
final class PlainText {
    /** What http.Error and a Fprint to a text handler send. */
    static final String CONTENT_TYPE = "text/plain; charset=utf-8";

    private PlainText() {
    }

    /** Go's http.Error: the text plus a newline, as text/plain. */
    static void error(HttpResponder response, int status, String text) {
        response.respond(status, CONTENT_TYPE, (text + "\n").getBytes(StandardCharsets.UTF_8));
    }

    /** etcd's allowMethod/health handlers: anything but GET is 405 "Method Not Allowed" (with Allow: GET). */
    static boolean refuseUnlessGet(String method, HttpResponder response) {
        if ("GET".equals(method)) {
            return false;
        }
        error(response.header("Allow", "GET"), 405, "Method Not Allowed");
        return true;
    }
}

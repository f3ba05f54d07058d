package io.metastore.server.http;

import javax.net.ssl.SSLSession;
import java.net.SocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One HTTP request on a client or metrics port, whole (bodies are small: etcd caps them at
 * --max-request-bytes), independent of the transport that received it, so routes know nothing of Netty.
 *
 * @param method     upper-case method ("GET", "POST")
 * @param path       the path without the query, not decoded ("/v3/kv/range")
 * @param query      the raw query string without '?', empty when absent
 * @param headers    header names lower-cased; the last value wins
 * @param body       the request body, empty when absent
 * @param sslSession the TLS session when the request came over TLS, else null (client-certificate users)
 * @param remote     the peer's address, for logs
 */
public record HttpRequest(String method, String path, String query, Map<String, String> headers, byte[] body,
                          SSLSession sslSession, SocketAddress remote) {

    public String header(String lowerCaseName) {
        return headers.get(lowerCaseName);
    }

    /** The query's parameters in order; a parameter without '=' has the empty string as its value. */
    public Map<String, List<String>> queryParameters() {
        Map<String, List<String>> out = new LinkedHashMap<>();
        if (query.isEmpty()) {
            return out;
        }
        for (String pair : query.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String name = URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
            String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            out.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
        }
        return out;
    }
}

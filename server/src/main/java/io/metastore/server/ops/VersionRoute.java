package io.metastore.server.ops;

import io.metastore.server.EtcdServer;
import io.metastore.server.http.HttpRequest;
import io.metastore.server.http.HttpResponder;
import io.metastore.server.http.HttpRoute;

import java.nio.charset.StandardCharsets;

/**
 * etcd's GET /version: {"etcdserver":"3.6.0","etcdcluster":"3.6.0","storage":"3.6.0"} as application/json.
 * etcd reports the cluster version the members agreed on ("not_decided" before); MetaStore keeps no such
 * negotiation (every member speaks the same API version), so the cluster version is the server's. etcd 3.4 sends
 * the first two fields only.
 */
final class VersionRoute implements HttpRoute {
    private static final byte[] BODY = ("{\"etcdserver\":\"" + EtcdServer.VERSION + "\",\"etcdcluster\":\""
            + EtcdServer.VERSION + "\",\"storage\":\"" + EtcdServer.STORAGE_VERSION + "\"}")
            .getBytes(StandardCharsets.UTF_8);

    @Override
    public void serve(HttpRequest request, HttpResponder response) {
        if (PlainText.refuseUnlessGet(request.method(), response)) {
            return;
        }
        response.respond(200, "application/json", BODY);
    }
}

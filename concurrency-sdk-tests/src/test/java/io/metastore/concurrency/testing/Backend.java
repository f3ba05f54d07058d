package io.metastore.concurrency.testing;

import io.metastore.concurrency.EtcdConnection;

import java.util.List;

/** An etcd-API server the tests talk to: an in-process MetaStore (single or 3 members) or the real etcd. */
public interface Backend {
    String name();

    /** gRPC targets ("127.0.0.1:port"), one per member. */
    List<String> endpoints();

    /** A new connection to the first member (callers close it). */
    default EtcdConnection connect() {
        return EtcdConnection.plaintext(endpoints().get(0));
    }

    default EtcdConnection connect(int member) {
        return EtcdConnection.plaintext(endpoints().get(member));
    }
}

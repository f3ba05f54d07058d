package io.metastore.server;

import java.time.Duration;

/**
 * What one member lets its clients use: etcd's gRPC limits (per-connection streams, keep-alive policy) and
 * MetaStore's caps on watchers and leases, which etcd lacks, so a runaway client gets a clear error instead of
 * exhausting the member's memory for everyone.
 *
 * @param maxConcurrentStreams per client connection (etcd's --max-concurrent-streams; default unlimited)
 * @param keepaliveMinTime     the most frequent client ping allowed before the connection is closed with
 *                             too_many_pings (etcd: 5 s; etcdctl pings every 2 s only while calls are open)
 * @param keepaliveInterval    how often the server pings an idle connection (etcd: 2 h)
 * @param keepaliveTimeout     how long a ping may go unanswered before the connection is closed (etcd: 20 s)
 * @param maxWatchers          watchers the member keeps over all streams; 0 for no limit
 * @param maxLeases            leases the cluster holds; 0 for no limit
 */
public record ClientLimits(int maxConcurrentStreams, Duration keepaliveMinTime, Duration keepaliveInterval,
                           Duration keepaliveTimeout, long maxWatchers, long maxLeases) {

    public static final long DEFAULT_MAX_WATCHERS = 1_000_000;
    public static final long DEFAULT_MAX_LEASES = 1_000_000;

    public ClientLimits withMaxConcurrentStreams(int n) {
        return new ClientLimits(n, keepaliveMinTime, keepaliveInterval, keepaliveTimeout, maxWatchers, maxLeases);
    }

    public ClientLimits withKeepaliveMinTime(Duration d) {
        return new ClientLimits(maxConcurrentStreams, d, keepaliveInterval, keepaliveTimeout, maxWatchers, maxLeases);
    }

    public ClientLimits withKeepaliveInterval(Duration d) {
        return new ClientLimits(maxConcurrentStreams, keepaliveMinTime, d, keepaliveTimeout, maxWatchers, maxLeases);
    }

    public ClientLimits withKeepaliveTimeout(Duration d) {
        return new ClientLimits(maxConcurrentStreams, keepaliveMinTime, keepaliveInterval, d, maxWatchers, maxLeases);
    }

    public ClientLimits withMaxWatchers(long n) {
        return new ClientLimits(maxConcurrentStreams, keepaliveMinTime, keepaliveInterval, keepaliveTimeout, n,
                maxLeases);
    }

    public ClientLimits withMaxLeases(long n) {
        return new ClientLimits(maxConcurrentStreams, keepaliveMinTime, keepaliveInterval, keepaliveTimeout,
                maxWatchers, n);
    }

    public static ClientLimits defaults() {
        return new ClientLimits(Integer.MAX_VALUE, Duration.ofSeconds(5), Duration.ofHours(2), Duration.ofSeconds(20),
                DEFAULT_MAX_WATCHERS, DEFAULT_MAX_LEASES);
    }
}

package io.metastore.server.ops;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Watch;
import io.metastore.server.EtcdServer;
import io.metastore.server.ServerConfig;
import io.metastore.server.TestMember;
import io.metastore.server.fault.FailureContainment;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.DoubleSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** /metrics on a real single member: etcd's names and types are there, and the values follow what happens. */
class MetricsRouteTest {
    private static TestMember m;

    @BeforeAll
    static void start() throws InterruptedException {
        m = TestMember.start(ServerConfig.StorageEngine.ROCKSDB).awaitLeader();
    }

    @AfterAll
    static void stop() {
        m.close();
    }

    /** Every metric the operations issue lists, with etcd's type. */
    @Test
    void everyEtcdNameIsExposedWithItsType() throws Exception {
        m.client().getKVClient().put(bs("warm"), bs("up")).get(); // a proposal, so the disk histograms have data
        Scrape s = Scrape.of(m.member());
        Map<String, String> expected = new java.util.LinkedHashMap<>();
        for (String g : new String[]{"etcd_server_has_leader", "etcd_server_is_leader", "etcd_server_is_learner",
                "etcd_server_proposals_committed_total", "etcd_server_proposals_applied_total",
                "etcd_server_proposals_pending", "etcd_server_id", "etcd_server_version",
                "etcd_server_quota_backend_bytes", "etcd_mvcc_db_total_size_in_bytes",
                "etcd_mvcc_db_total_size_in_use_in_bytes", "etcd_debugging_mvcc_keys_total",
                "etcd_debugging_mvcc_current_revision", "etcd_debugging_mvcc_compact_revision",
                "etcd_debugging_mvcc_watcher_total", "etcd_debugging_mvcc_slow_watcher_total",
                "process_resident_memory_bytes", "process_open_fds", "process_start_time_seconds"}) {
            expected.put(g, "gauge");
        }
        for (String c : new String[]{"etcd_server_leader_changes_seen_total", "etcd_server_proposals_failed_total",
                "etcd_server_slow_apply_total", "etcd_server_health_success", "etcd_server_health_failures",
                "etcd_mvcc_put_total", "etcd_mvcc_range_total", "etcd_mvcc_delete_total", "etcd_mvcc_txn_total",
                "etcd_debugging_lease_granted_total", "etcd_debugging_lease_revoked_total",
                "etcd_debugging_lease_renewed_total", "grpc_server_started_total", "grpc_server_handled_total",
                "grpc_server_msg_received_total", "grpc_server_msg_sent_total", "process_cpu_seconds_total",
                "etcd_network_client_grpc_received_bytes_total", "etcd_network_client_grpc_sent_bytes_total",
                "etcd_server_client_requests_total"}) {
            expected.put(c, "counter");
        }
        // etcd_network_peer_round_trip_time_seconds has a sample per peer only, so none on a single member (as in
        // etcd, whose vector is empty then too): OpsClusterTest checks it
        for (String h : new String[]{"etcd_disk_wal_fsync_duration_seconds", "etcd_disk_backend_commit_duration_seconds"}) {
            expected.put(h, "histogram");
        }
        expected.forEach(s::assertType);
        assertTrue(s.types.keySet().stream().anyMatch(n -> n.startsWith("jvm_memory")), "JVM metrics");

        assertEquals(1, s.value("etcd_server_has_leader"));
        assertEquals(1, s.value("etcd_server_is_leader"));
        assertEquals(1, s.value("etcd_server_id{server_id=\"" + Long.toHexString(m.member().server().memberId()) + "\"}"));
        assertEquals(1, s.value("etcd_server_version{server_version=\"" + EtcdServer.VERSION + "\"}"));
        assertEquals(ServerConfig.DEFAULT_QUOTA_BYTES, s.value("etcd_server_quota_backend_bytes"));
        assertTrue(s.value("etcd_server_leader_changes_seen_total") >= 1, "the first election counts, as in etcd");
        assertTrue(s.value("process_resident_memory_bytes") > 0);
        // etcd's buckets: 1 ms doubling to 8.192 s; the Raft log and the store both committed at least once
        assertTrue(s.samples.containsKey("etcd_disk_wal_fsync_duration_seconds_bucket{le=\"8.192\"}"), s.text);
        assertTrue(s.value("etcd_disk_wal_fsync_duration_seconds_count") > 0, "Ratis's log sync is observed");
        assertTrue(s.value("etcd_disk_backend_commit_duration_seconds_count") > 0);
        // go-grpc-prometheus lists every method with 0 before its first call, handled for every code
        assertEquals(0, s.value("grpc_server_handled_total{grpc_code=\"DataLoss\",grpc_method=\"Compact\","
                + "grpc_service=\"etcdserverpb.KV\",grpc_type=\"unary\"}"));
        assertEquals(0, s.value("grpc_server_started_total{grpc_method=\"Watch\",grpc_service=\"etcdserverpb.Watch\","
                + "grpc_type=\"bidi_stream\"}"));
    }

    @Test
    void aPutMovesProposalsMvccCountersAndGrpcCounters() throws Exception {
        m.client().getKVClient().get(bs("metrics/none")).get(); // so every counter below has a sample before
        Scrape before = Scrape.of(m.member());
        m.client().getKVClient().put(bs("metrics/a"), bs("1")).get();
        m.client().getKVClient().put(bs("metrics/b"), bs("2")).get();
        m.client().getKVClient().get(bs("metrics/a")).get();
        Scrape after = Scrape.of(m.member());
        for (String grows : new String[]{"etcd_server_proposals_committed_total", "etcd_server_proposals_applied_total",
                "etcd_debugging_mvcc_current_revision"}) {
            assertTrue(after.value(grows) >= before.value(grows) + 2, grows);
        }
        assertEquals(before.value("etcd_mvcc_put_total") + 2, after.value("etcd_mvcc_put_total"));
        assertEquals(before.value("etcd_debugging_mvcc_keys_total") + 2, after.value("etcd_debugging_mvcc_keys_total"));
        assertTrue(after.value("etcd_mvcc_range_total") >= before.value("etcd_mvcc_range_total") + 1);
        String putOk = "grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Put\",grpc_service=\"etcdserverpb.KV\","
                + "grpc_type=\"unary\"}";
        assertEquals(before.value(putOk) + 2, after.value(putOk));
        String putReceived = "grpc_server_msg_received_total{grpc_method=\"Put\",grpc_service=\"etcdserverpb.KV\","
                + "grpc_type=\"unary\"}";
        assertEquals(before.value(putReceived) + 2, after.value(putReceived));
        assertEquals(0, after.value("etcd_server_proposals_pending"));
        // the dashboard's client traffic panels: at least the two keys and values went in, something came out
        assertTrue(after.value("etcd_network_client_grpc_received_bytes_total")
                >= before.value("etcd_network_client_grpc_received_bytes_total") + 2 * ("metrics/a".length() + 1));
        assertTrue(after.value("etcd_network_client_grpc_sent_bytes_total")
                > before.value("etcd_network_client_grpc_sent_bytes_total"));
        assertTrue(after.sum("etcd_server_client_requests_total", "type=\"unary\"")
                >= before.sum("etcd_server_client_requests_total", "type=\"unary\"") + 3);
        // --metrics=basic (the default): no handling-time histograms, as in etcd
        assertTrue(!after.types.containsKey("grpc_server_handling_seconds"), "basic metrics only");
    }

    @Test
    void extensiveMetricsAddTheHandlingTimeHistogram() throws Exception {
        try (TestMember x = TestMember.start(ServerConfig.StorageEngine.MEMORY, b -> b.metrics = "extensive")
                .awaitLeader()) {
            x.client().getKVClient().put(bs("metrics/x"), bs("1")).get();
            Scrape s = Scrape.of(x.member());
            s.assertType("grpc_server_handling_seconds", "histogram");
            assertEquals(1, s.value("grpc_server_handling_seconds_count{grpc_method=\"Put\","
                    + "grpc_service=\"etcdserverpb.KV\",grpc_type=\"unary\"}"));
            assertTrue(s.samples.containsKey("grpc_server_handling_seconds_bucket{grpc_method=\"Put\","
                    + "grpc_service=\"etcdserverpb.KV\",grpc_type=\"unary\",le=\"0.005\"}"), s.text);
        }
    }

    @Test
    void leaseCountersFollowGrantRenewRevoke() throws Exception {
        Scrape before = Scrape.of(m.member());
        long id = m.client().getLeaseClient().grant(30).get().getID();
        m.client().getLeaseClient().keepAliveOnce(id).get();
        m.client().getLeaseClient().revoke(id).get();
        Scrape after = Scrape.of(m.member());
        for (String c : new String[]{"etcd_debugging_lease_granted_total", "etcd_debugging_lease_revoked_total"}) {
            assertEquals(before.value(c) + 1, after.value(c), c);
        }
        // jetcd's keepAliveOnce may send its request more than once on the stream; each is a renewal
        assertTrue(after.value("etcd_debugging_lease_renewed_total") >= before.value("etcd_debugging_lease_renewed_total") + 1);
    }

    @Test
    void theWatcherGaugeMovesWhenAWatchOpensAndCloses() throws Exception {
        double before = Scrape.of(m.member()).value("etcd_debugging_mvcc_watcher_total");
        try (Watch.Watcher w = m.client().getWatchClient().watch(bs("metrics/w"), r -> { })) {
            awaitValue(() -> Scrape.of(m.member()).value("etcd_debugging_mvcc_watcher_total"), before + 1);
        }
        awaitValue(() -> Scrape.of(m.member()).value("etcd_debugging_mvcc_watcher_total"), before);
    }

    @Test
    void containedFailuresAreCountedBySite() {
        String site = "metrics-test-" + System.nanoTime();
        FailureContainment.contained(site, new IllegalStateException("a contained bug"));
        FailureContainment.contained(site, new IllegalStateException("again"));
        assertEquals(2.0, Scrape.of(m.member()).value("metastore_contained_failures_total{site=\"" + site + "\"}"));
    }

    /** Polls (bounded, 10 s) until {@code value} reads {@code expected}; fails with the last value. */
    static void awaitValue(DoubleSupplier value, double expected) throws InterruptedException {
        double last = Double.NaN;
        for (int i = 0; i < 200; i++) {
            last = value.getAsDouble();
            if (last == expected) {
                return;
            }
            Thread.sleep(50);
        }
        assertEquals(expected, last);
    }

    static ByteSequence bs(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }
}

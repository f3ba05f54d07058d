package io.metastore.server.ops;

import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import io.metastore.proto.etcdserverpb.AlarmRequest;
import io.metastore.proto.etcdserverpb.AlarmType;
import io.metastore.server.EtcdServer;
import io.metastore.server.RawClient;
import io.metastore.server.ServerConfig;
import io.metastore.server.TestMember;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * /health, /livez, /readyz, /version and grpc.health.v1 on a real single member, healthy and with a NOSPACE alarm
 * raised through the Maintenance API (as the quota does).
 */
class HealthRoutesTest {
    private static TestMember m;
    private static RawClient raw;

    @BeforeAll
    static void start() throws InterruptedException {
        m = TestMember.start(ServerConfig.StorageEngine.MEMORY).awaitLeader();
        raw = new RawClient(m.member().clientPort());
    }

    @AfterAll
    static void stop() {
        raw.close();
        m.close();
    }

    @Test
    void healthyMemberAnswersAsEtcd() {
        RouteCall.Answer ok = RouteCall.get(m.member(), "/health");
        assertEquals(new RouteCall.Answer(200, "text/plain; charset=utf-8", "{\"health\":\"true\",\"reason\":\"\"}"), ok);
        assertEquals(ok, RouteCall.get(m.member(), "/health", "serializable=true"));
        assertEquals(new RouteCall.Answer(405, "text/plain; charset=utf-8", "Method Not Allowed\n"),
                RouteCall.call(m.member(), "POST", "/health", ""));

        assertEquals(new RouteCall.Answer(200, "text/plain; charset=utf-8", "ok\n"), RouteCall.get(m.member(), "/livez"));
        assertEquals("ok\n", RouteCall.get(m.member(), "/readyz").body());
        assertEquals("[+]data_corruption ok\n[+]serializable_read ok\n[+]linearizable_read ok\n[+]non_learner ok\nok\n",
                RouteCall.get(m.member(), "/readyz", "verbose").body());
        assertEquals("[+]data_corruption ok\n[+]non_learner ok\nok\n",
                RouteCall.get(m.member(), "/readyz", "verbose&exclude=serializable_read&exclude=linearizable_read").body());
        assertEquals("ok\n", RouteCall.get(m.member(), "/readyz/linearizable_read").body());
        assertEquals("[+]serializable_read ok\nok\n", RouteCall.get(m.member(), "/livez/serializable_read", "verbose").body());
        assertEquals(405, RouteCall.call(m.member(), "PUT", "/readyz", "").status());

        assertEquals(new RouteCall.Answer(200, "application/json", "{\"etcdserver\":\"" + EtcdServer.VERSION
                        + "\",\"etcdcluster\":\"3.6.0\",\"storage\":\"3.6.0\"}"),
                RouteCall.get(m.member(), "/version"));
    }

    @Test
    void noSpaceAlarmFailsHealthUnlessExcludedAndStopsGrpcServing() throws Exception {
        HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(raw.channel).withDeadlineAfter(10, TimeUnit.SECONDS);
        HealthCheckRequest all = HealthCheckRequest.getDefaultInstance();
        assertEquals(ServingStatus.SERVING, health.check(all).getStatus());
        BlockingQueue<ServingStatus> watched = new LinkedBlockingQueue<>();
        HealthGrpc.newStub(raw.channel).watch(all, new StreamObserver<>() {
            @Override
            public void onNext(HealthCheckResponse r) {
                watched.add(r.getStatus());
            }

            @Override
            public void onError(Throwable t) {
            }

            @Override
            public void onCompleted() {
            }
        });
        assertEquals(ServingStatus.SERVING, watched.poll(10, TimeUnit.SECONDS));
        Scrape before = Scrape.of(m.member());
        long memberId = m.member().server().memberId();
        raw.maintenance.alarm(AlarmRequest.newBuilder().setAction(AlarmRequest.AlarmAction.ACTIVATE)
                .setMemberID(memberId).setAlarm(AlarmType.NOSPACE).build());
        try {
            assertEquals(ServingStatus.NOT_SERVING, watched.poll(10, TimeUnit.SECONDS));
            assertEquals(ServingStatus.NOT_SERVING, health.check(all).getStatus());

            assertEquals(new RouteCall.Answer(503, "text/plain; charset=utf-8",
                    "{\"health\":\"false\",\"reason\":\"ALARM NOSPACE\"}\n"), RouteCall.get(m.member(), "/health"));
            assertEquals(200, RouteCall.get(m.member(), "/health", "exclude=NOSPACE").status());
            assertEquals(503, RouteCall.get(m.member(), "/health", "exclude=CORRUPT").status());
            // readyz only looks for CORRUPT (etcd's data_corruption check); NOSPACE leaves the member ready
            assertEquals(200, RouteCall.get(m.member(), "/readyz").status());
            Scrape after = Scrape.of(m.member());
            assertEquals(before.value("etcd_server_health_failures") + 2, after.value("etcd_server_health_failures"));
            assertEquals(before.value("etcd_server_health_success") + 1, after.value("etcd_server_health_success"));
        } finally {
            raw.maintenance.alarm(AlarmRequest.newBuilder().setAction(AlarmRequest.AlarmAction.DEACTIVATE)
                    .setMemberID(memberId).setAlarm(AlarmType.NOSPACE).build());
        }
        assertEquals(ServingStatus.SERVING, watched.poll(10, TimeUnit.SECONDS));
        assertEquals(200, RouteCall.get(m.member(), "/health").status());
    }

    @Test
    void corruptAlarmFailsReadyzWithEtcdsText() {
        long memberId = m.member().server().memberId();
        raw.maintenance.alarm(AlarmRequest.newBuilder().setAction(AlarmRequest.AlarmAction.ACTIVATE)
                .setMemberID(memberId).setAlarm(AlarmType.CORRUPT).build());
        try {
            assertEquals(new RouteCall.Answer(503, "text/plain; charset=utf-8",
                    "[-]data_corruption failed: alarm activated: CORRUPT\n[+]serializable_read ok\n"
                            + "[+]linearizable_read ok\n[+]non_learner ok\n\n"), RouteCall.get(m.member(), "/readyz"));
            assertEquals("ok\n", RouteCall.get(m.member(), "/readyz", "exclude=data_corruption").body());
            assertEquals("{\"health\":\"false\",\"reason\":\"ALARM CORRUPT\"}\n", RouteCall.get(m.member(), "/health").body());
        } finally {
            raw.maintenance.alarm(AlarmRequest.newBuilder().setAction(AlarmRequest.AlarmAction.DEACTIVATE)
                    .setMemberID(memberId).setAlarm(AlarmType.CORRUPT).build());
        }
    }
}

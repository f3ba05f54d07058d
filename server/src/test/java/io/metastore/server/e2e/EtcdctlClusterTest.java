package io.metastore.server.e2e;

import io.metastore.server.ServerConfig;
import io.metastore.server.TestCluster;
import io.metastore.server.TestMember;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The operator's cluster workflow with Debian's etcdctl against in-process members: member list/add/promote/
 * remove, move-leader, endpoint status and hashkv with --cluster. etcdctl prints what the responses say, so
 * its output checks field by field that our answers are what it expects from etcd.
 */
class EtcdctlClusterTest {

    private static String endpoints(TestCluster c) {
        List<String> eps = new ArrayList<>();
        for (int i = 0; i < c.size(); i++) {
            if (c.member(i) != null) {
                eps.add("127.0.0.1:" + c.port(i));
            }
        }
        return String.join(",", eps);
    }

    private static Etcdctl.Result ok(Etcdctl.Result r) {
        assertTrue(r.ok(), r.toString());
        return r;
    }

    private static String group(String regex, String text) {
        Matcher m = Pattern.compile(regex).matcher(text);
        assertTrue(m.find(), "no match for " + regex + " in:\n" + text);
        return m.group(1);
    }

    @Test
    void growPromoteMoveLeaderAndShrinkWithEtcdctl() throws Exception {
        try (TestCluster c = TestCluster.start(3, ServerConfig.StorageEngine.ROCKSDB)) {
            io.metastore.server.ClusterIntegrationTest.await("a leader", () -> c.leader() >= 0);
            io.metastore.server.ClusterMembershipTest.awaitPublished(c);
            Etcdctl ctl = new Etcdctl(endpoints(c));
            ok(ctl.run("put", "k", "v"));

            String list = ok(ctl.run("member", "list")).stdout();
            assertEquals(3, list.strip().lines().count(), list);
            assertTrue(list.contains(", started, m1, http://127.0.0.1:"), list);

            int peer = TestMember.freePort();
            int client = TestMember.freePort();
            String add = ok(ctl.run("member", "add", "m4", "--peer-urls=http://127.0.0.1:" + peer, "--learner")).stdout();
            String id = group("Member ([0-9a-f]+) added to cluster ([0-9a-f]+)", add);
            assertTrue(add.contains("ETCD_NAME=\"m4\""), add);
            assertTrue(add.contains("ETCD_INITIAL_CLUSTER_STATE=\"existing\""), add);
            assertTrue(add.contains("m4=http://127.0.0.1:" + peer), add);
            assertTrue(ok(ctl.run("member", "list")).stdout().contains(id + ", unstarted, , http://127.0.0.1:" + peer
                    + ", , true"), "an unstarted learner is listed as etcd lists it");

            int m4 = c.startJoining("m4", client, peer);
            String promoted = null;
            for (int i = 0; i < 100 && promoted == null; i++) {
                Etcdctl.Result r = ctl.run("member", "promote", id);
                if (r.ok()) {
                    promoted = r.stdout();
                } else {
                    assertTrue(r.stderr().contains("in sync with leader"), r.toString());
                    Thread.sleep(100);
                }
            }
            assertTrue(promoted != null && promoted.contains("Member " + id + " promoted in cluster"), promoted);

            Etcdctl all = new Etcdctl(endpoints(c));
            String status = ok(all.run("endpoint", "status", "--cluster", "-w", "json")).stdout();
            Matcher leaders = Pattern.compile("\"leader\":(\\d+)").matcher(status);
            Matcher terms = Pattern.compile("\"raft_term\":(\\d+)").matcher(status);
            Set<String> leaderIds = new HashSet<>();
            Set<String> termSet = new HashSet<>();
            int n = 0;
            while (leaders.find() && terms.find()) {
                leaderIds.add(leaders.group(1));
                termSet.add(terms.group(1));
                n++;
            }
            assertEquals(4, n, status);
            assertEquals(1, leaderIds.size(), "one leader: " + status);
            assertEquals(1, termSet.size(), "one term: " + status);

            // move leadership to the newcomer (etcdctl finds the leader among the endpoints itself)
            String moved = ok(all.run("move-leader", id)).stdout();
            assertTrue(moved.contains("Leadership transferred from"), moved);
            assertTrue(moved.contains(" to " + id), moved);
            assertEquals(m4, c.leader());

            // and remove it while it leads
            String removed = ok(all.run("member", "remove", id)).stdout();
            assertTrue(removed.contains("Member " + id + " removed from cluster"), removed);
            io.metastore.server.ClusterIntegrationTest.await("m4 stops", () -> c.member(m4).removedFromCluster().isDone());
            c.stop(m4);
            Etcdctl rest = new Etcdctl(endpoints(c));
            assertEquals(3, ok(rest.run("member", "list")).stdout().strip().lines().count());
            ok(rest.run("put", "k2", "v2"));
            String hashes = ok(rest.run("endpoint", "hashkv", "--cluster")).stdout();
            Set<String> distinct = new HashSet<>();
            Matcher h = Pattern.compile(", (\\d+)\\s*$", Pattern.MULTILINE).matcher(hashes);
            while (h.find()) {
                distinct.add(h.group(1));
            }
            assertEquals(1, distinct.size(), "equal HashKV on every member:\n" + hashes);
        }
    }
}

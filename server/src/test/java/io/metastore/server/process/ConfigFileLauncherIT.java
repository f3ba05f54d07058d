package io.metastore.server.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.RequestOp;
import io.metastore.proto.etcdserverpb.TxnRequest;
import com.google.protobuf.ByteString;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * --config-file through the real launcher process: a bad file stops it with exit 1 and one line on stderr, no
 * stack trace; a good file's settings (below the fixture's flags) take effect and the member serves.
 */
class ConfigFileLauncherIT {

    @TempDir
    Path dir;

    @Test
    void aBadFileExitsOneWithOneLine() throws Exception {
        Path bad = dir.resolve("bad.yml");
        Files.writeString(bad, "snapshot-count: 100\nsnapshot-cuont: 5\n");
        try (MemberProcess m = new MemberProcess("config-file-bad", "memory", "--config-file", bad.toString())) {
            m.launch();
            assertEquals(Integer.valueOf(1), m.awaitExit(Duration.ofSeconds(60)), MemberProcess.tail(m.currentLog(), 20));
            List<String> output = Files.readAllLines(m.currentLog(), StandardCharsets.UTF_8).stream()
                    .filter(l -> !l.startsWith("# ")).toList(); // MemberProcess's own first line: the command
            assertEquals(List.of("metastore: config file " + bad + ": unknown key \"snapshot-cuont\""), output);
        }
    }

    private static RequestOp put(String key) {
        return RequestOp.newBuilder().setRequestPut(PutRequest.newBuilder()
                .setKey(ByteString.copyFromUtf8(key)).setValue(ByteString.copyFromUtf8("v"))).build();
    }

    @Test
    void aGoodFileIsAppliedAndTheMemberServes() throws Exception {
        Path good = dir.resolve("etcd.yml");
        Path logFile = dir.resolve("member.log");
        Files.writeString(good, """
                # the fixture's flags set name, URLs and data dir; flags win over the file
                name: from-the-file
                max-txn-ops: 2
                log-level: info
                log-outputs: [stderr, %s]
                log-format: json
                """.formatted(logFile));
        try (MemberProcess m = new MemberProcess("config-file-good", "memory", "--config-file", good.toString())) {
            m.start();
            ManagedChannel ch = m.channel();
            try {
                MemberProcess.kv(ch).txn(TxnRequest.newBuilder().addSuccess(put("a")).addSuccess(put("b")).build());
                StatusRuntimeException tooMany = org.junit.jupiter.api.Assertions.assertThrows(
                        StatusRuntimeException.class, () -> MemberProcess.kv(ch).txn(TxnRequest.newBuilder()
                                .addSuccess(put("a")).addSuccess(put("b")).addSuccess(put("c")).build()));
                assertEquals("etcdserver: too many operations in txn request", tooMany.getStatus().getDescription());
            } finally {
                ch.shutdownNow();
            }
            // the fixture's --log-format=console flag wins over the file's json on both outputs
            String fileLog = Files.readString(logFile, StandardCharsets.UTF_8);
            assertTrue(fileLog.contains("\tINFO\tlauncher/Main\tloaded server configuration"), fileLog);
            assertTrue(fileLog.contains("\tready to serve client requests\t{\"name\": \"m1\""), fileLog);
            assertTrue(MemberProcess.count(m.currentLog(), "ready to serve client requests") == 1);
        }
    }
}

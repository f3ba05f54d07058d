package io.metastore.server.launcher;

import io.metastore.server.EtcdServer;
import io.metastore.server.MetaStore;
import io.metastore.server.ServerConfig;
import io.metastore.server.logging.LogOutputs;
import io.metastore.server.tls.ServerTls;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The daemon: etcd's flags in, a running member out. SIGTERM/SIGINT stop it gracefully and exit 0; a
 * second signal exits at once.
 */
public final class Main {
    private static final Logger LOG = LoggerFactory.getLogger(Main.class);

    private Main() {}

    public static void main(String[] args) {
        ServerConfig config;
        try {
            config = EtcdFlags.parse(args, System.getenv());
        } catch (FlagException e) {
            int code = handleFlagOutcome(e);
            System.exit(code);
            return;
        }
        try {
            LogOutputs.apply(config.logLevel(), config.logOutputs(), config.logFormat());
        } catch (IllegalArgumentException e) {
            System.err.println("metastore: " + e.getMessage());
            System.exit(1);
            return;
        }
        if (config.configFile() != null) { // etcd logs the same line; its fields differ (it ignores flags then)
            LOG.atInfo().addKeyValue("path", config.configFile().toString())
                    .log("loaded server configuration, command line flags and ETCD_* environment variables "
                            + "override its settings if provided");
        }
        MetaStore member;
        try {
            member = MetaStore.start(config);
        } catch (ServerTls.TlsConfigException e) {
            System.err.println("metastore: " + e.getMessage()); // the operator's mistake: no stack trace
            System.exit(1);
            return;
        } catch (Exception e) {
            LOG.error("failed to start: {}", e.getMessage(), e);
            System.exit(1);
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        AtomicBoolean stopping = new AtomicBoolean();
        Runnable stop = () -> {
            if (!stopping.compareAndSet(false, true)) {
                Runtime.getRuntime().halt(1);
            }
            Thread t = new Thread(() -> {
                member.close();
                stopped.countDown();
            }, "shutdown");
            t.start();
        };
        member.removedFromCluster().thenRun(stop); // etcd stops a member that was removed
        AtomicBoolean failed = new AtomicBoolean();
        member.failed().thenRun(() -> { // logged where detected; etcd panics in the same situation
            failed.set(true);
            stop.run();
        });
        Signal.handle(new Signal("TERM"), s -> stop.run());
        Signal.handle(new Signal("INT"), s -> stop.run());
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        System.exit(failed.get() ? 2 : 0);
    }

    private static int handleFlagOutcome(FlagException e) {
        String msg = e.getMessage();
        if (e instanceof FlagException.Help) {
            System.out.println(msg);
            return 0;
        }
        if (e instanceof FlagException.Version) {
            System.out.println("metastore Version: " + EtcdServer.VERSION + " (etcd API)");
            return 0;
        }
        System.err.println("metastore: " + msg);
        return 1;
    }
}

package io.metastore.server.launcher;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import io.metastore.server.EtcdServer;
import io.metastore.server.MetaStore;
import io.metastore.server.ServerConfig;
import io.metastore.server.tls.ServerTls;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The daemon: etcd's flags in, a running member out. SIGTERM/SIGINT stop it gracefully and exit 0; a
 * second signal exits at once.
 */
public final class Main {
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
        setLogLevel(config.logLevel());
        MetaStore member;
        try {
            member = MetaStore.start(config);
        } catch (ServerTls.TlsConfigException e) {
            System.err.println("metastore: " + e.getMessage()); // the operator's mistake: no stack trace
            System.exit(1);
            return;
        } catch (Exception e) {
            LoggerFactory.getLogger(Main.class).error("failed to start: {}", e.getMessage(), e);
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

    static void setLogLevel(String level) {
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(switch (level) {
            case "debug" -> Level.DEBUG;
            case "warn" -> Level.WARN;
            case "error", "panic", "fatal" -> Level.ERROR;
            default -> Level.INFO;
        });
    }
}

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executors;

/**
 * Serves a local Maven repository (~/.m2/repository has the remote layout) read-only over HTTP on 127.0.0.1, so the
 * Dockerfile's build stage can use it as its mirror (scripts/docker-e2e build, with --network host): Maven then takes
 * just the artifacts the server build needs, instead of the whole repository going into the build context.
 *
 * <p>Run as a single-file program: {@code java scripts/LocalMavenRepoServer.java REPO PORT_FILE}. It listens on a
 * free port, writes the port to PORT_FILE once it serves, and runs until killed.
 */
public final class LocalMavenRepoServer {
    public static void main(String[] args) throws IOException {
        if (args.length != 2) {
            System.err.println("usage: java LocalMavenRepoServer.java REPOSITORY_DIR PORT_FILE");
            System.exit(2);
        }
        Path root = Path.of(args[0]).toRealPath();
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        server.createContext("/", exchange -> {
            try (exchange) {
                serve(root, exchange);
            }
        });
        server.setExecutor(Executors.newFixedThreadPool(8)); // Maven resolves several artifacts at once
        server.start();
        Path portFile = Path.of(args[1]);
        Path tmp = Path.of(args[1] + ".tmp");
        Files.writeString(tmp, Integer.toString(server.getAddress().getPort()));
        Files.move(tmp, portFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE); // readers never see a partial port
    }

    private static void serve(Path root, HttpExchange exchange) throws IOException {
        String method = exchange.getRequestMethod();
        if (!method.equals("GET") && !method.equals("HEAD")) {
            exchange.sendResponseHeaders(405, -1);
            return;
        }
        String path = URLDecoder.decode(exchange.getRequestURI().getRawPath(), StandardCharsets.UTF_8);
        Path file = root.resolve(path.replaceFirst("^/+", "")).normalize();
        if (!file.startsWith(root) || !Files.isRegularFile(file)) { // never outside the repository
            exchange.sendResponseHeaders(404, -1);
            return;
        }
        long size = Files.size(file);
        if (method.equals("HEAD")) {
            exchange.getResponseHeaders().set("Content-Length", Long.toString(size));
            exchange.sendResponseHeaders(200, -1);
            return;
        }
        exchange.sendResponseHeaders(200, size == 0 ? -1 : size);
        try (OutputStream out = exchange.getResponseBody()) {
            Files.copy(file, out);
        }
    }
}

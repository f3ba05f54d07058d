package io.metastore.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.model.ExposedPort;
import com.github.dockerjava.api.model.Ports;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.output.Slf4jLogConsumer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * One member of a cluster made of the server image: a container on a shared {@link Network} whose alias is the
 * member's name, started with etcd's flags exactly as docker-compose.yml does. The test reaches it only through the
 * client port mapped on localhost.
 *
 * <p>Ryuk is off on the build machines, so whoever creates one must close it (try-with-resources).
 */
final class ImageMember implements AutoCloseable {
    static final String IMAGE = System.getProperty("metastore.image", "metastore:local");
    static final int CLIENT_PORT = 2379;
    private static final Duration START_TIMEOUT = Duration.ofMinutes(3);

    final String name;
    private final GenericContainer<?> container;

    private ImageMember(String name, GenericContainer<?> container) {
        this.name = name;
        this.container = container;
    }

    /** Members metastore1..metastoreN, not started, forming one new cluster with the given token. */
    static List<ImageMember> cluster(Network network, int n, String token) {
        String initialCluster = IntStream.rangeClosed(1, n)
                .mapToObj(i -> "metastore" + i + "=http://metastore" + i + ":2380").collect(Collectors.joining(","));
        return IntStream.rangeClosed(1, n).mapToObj(i -> {
            String name = "metastore" + i;
            GenericContainer<?> c = new GenericContainer<>(DockerImageName.parse(IMAGE))
                    .withNetwork(network)
                    .withNetworkAliases(name)
                    .withCommand("--name=" + name,
                            "--listen-client-urls=http://0.0.0.0:2379",
                            "--advertise-client-urls=http://" + name + ":2379",
                            "--listen-peer-urls=http://0.0.0.0:2380",
                            "--initial-advertise-peer-urls=http://" + name + ":2380",
                            "--initial-cluster=" + initialCluster,
                            "--initial-cluster-state=new",
                            "--initial-cluster-token=" + token)
                    .withExposedPorts(CLIENT_PORT)
                    .withLogConsumer(new Slf4jLogConsumer(LoggerFactory.getLogger(name)))
                    // the launcher's own line; a member prints it once it serves clients
                    .waitingFor(Wait.forLogMessage(".*ready to serve client requests.*\\n", 1)
                            .withStartupTimeout(START_TIMEOUT));
            return new ImageMember(name, c);
        }).toList();
    }

    /**
     * Fails with instructions unless the image is in the local engine: Testcontainers would otherwise try to pull it
     * from a registry the build machines cannot reach and hang for minutes.
     */
    static void requireLocalImage() {
        try {
            DockerClientFactory.instance().client().inspectImageCmd(IMAGE).exec();
        } catch (RuntimeException e) {
            throw new IllegalStateException("image " + IMAGE + " is not in the local Docker engine; build it first "
                    + "(scripts/docker-e2e prepare && scripts/docker-e2e build, or docker build -t " + IMAGE + " .)", e);
        }
    }

    GenericContainer<?> container() {
        return container;
    }

    /** The client endpoint on localhost, looked up again each time: a restarted container gets a new host port. */
    String endpoint() {
        InspectContainerResponse info = docker().inspectContainerCmd(container.getContainerId()).exec();
        Ports.Binding[] bindings = info.getNetworkSettings().getPorts().getBindings().get(ExposedPort.tcp(CLIENT_PORT));
        return "http://" + container.getHost() + ":" + bindings[0].getHostPortSpec();
    }

    /** docker stop: SIGTERM to the JVM, SIGKILL after {@code grace}. Returns the container's exit code. */
    long stopGracefully(Duration grace) {
        docker().stopContainerCmd(container.getContainerId()).withTimeout((int) grace.toSeconds()).exec();
        return docker().inspectContainerCmd(container.getContainerId()).exec().getState().getExitCodeLong();
    }

    /** docker start on the stopped container: the same data volume, so the member rejoins with its own state. */
    void startAgain() {
        docker().startContainerCmd(container.getContainerId()).exec();
    }

    private static DockerClient docker() {
        return DockerClientFactory.instance().client();
    }

    @Override
    public void close() {
        container.stop(); // removes the container and its anonymous data volume
    }
}

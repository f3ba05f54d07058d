# MetaStore server image. Multi-stage: Maven builds the server on a JDK, the result runs on a JRE.
#
#   docker build -t metastore:local .
#   docker run --rm -p 127.0.0.1:2379:2379 -v metastore-data:/var/lib/metastore metastore:local
#
# The image takes etcd's flags as arguments (the default CMD below makes a single member that listens on all of
# the container's interfaces); see docker-compose.yml for three members and docs/operations.md for the rest.
#
# Build arguments:
#   BASE         the Debian 12 (bookworm) image both stages start from. A stage installs from Debian what it needs
#                (JDK 17 + Maven; JRE 17 + curl) only when the base lacks it, so a base with those already in it
#                (CI's debootstrap image, see scripts/docker-e2e) skips apt altogether.
#   MAVEN_MIRROR a Maven repository URL that replaces every remote one in the build stage. CI serves its own local
#                repository on the host's loopback and builds with --network host (scripts/docker-e2e build), so
#                nothing is downloaded twice; unset, Maven downloads from Central (a few minutes).
#   MAVEN_FLAGS  extra mvn flags for the build stage.
ARG BASE=debian:bookworm-slim

# ---- the runtime's Java: JRE and curl (for the health check) ----
# (man1: slim images drop /usr/share/man, and the JRE's update-alternatives links its man page there.)
FROM ${BASE} AS jre
RUN pkgs=""; \
    command -v java >/dev/null || pkgs="openjdk-17-jre-headless"; \
    command -v curl >/dev/null || pkgs="$pkgs curl"; \
    if [ -n "$pkgs" ]; then \
      mkdir -p /usr/share/man/man1 && apt-get update \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $pkgs \
      && rm -rf /var/lib/apt/lists/*; \
    fi

# ---- the build's tools: JDK and Maven ----
FROM jre AS toolchain
RUN pkgs=""; \
    command -v javac >/dev/null || pkgs="openjdk-17-jdk-headless"; \
    command -v mvn >/dev/null || pkgs="$pkgs maven"; \
    if [ -n "$pkgs" ]; then \
      mkdir -p /usr/share/man/man1 && apt-get update \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $pkgs \
      && rm -rf /var/lib/apt/lists/*; \
    fi

# ---- build: the server jar and its runtime libraries (server/target/metastore-server.jar + server/target/lib) ----
FROM toolchain AS build
WORKDIR /src
COPY . .
ARG MAVEN_MIRROR=""
ARG MAVEN_FLAGS=""
# Tests are the CI suite's job, not the image's: skip running them (they still compile: storage-memory and
# storage-rocksdb use storage-api's test-jar, which -Dmaven.test.skip would not build). The downloaded repository is
# deleted in the same step, so it never becomes part of a layer.
RUN if [ -n "$MAVEN_MIRROR" ]; then \
      mkdir -p /root/.m2 && printf '<settings><mirrors><mirror><id>mirror</id><mirrorOf>*</mirrorOf><url>%s</url></mirror></mirrors></settings>\n' \
        "$MAVEN_MIRROR" >/root/.m2/settings.xml; \
    fi \
    && mvn -B -q $MAVEN_FLAGS -DskipTests -pl server -am package \
    && rm -rf /root/.m2

# ---- runtime ----
FROM jre AS runtime
# A fixed, non-root uid/gid so volume ownership is predictable (written directly: minimal bases lack useradd).
RUN echo 'metastore:x:2379:2379:MetaStore:/var/lib/metastore:/usr/sbin/nologin' >>/etc/passwd \
    && echo 'metastore:x:2379:' >>/etc/group \
    && mkdir -p /var/lib/metastore && chown 2379:2379 /var/lib/metastore
COPY --from=build /src/server/target/lib/ /opt/metastore/lib/
COPY --from=build /src/server/target/metastore-server.jar /opt/metastore/
USER 2379:2379
WORKDIR /var/lib/metastore
VOLUME /var/lib/metastore
# etcd's variables work as in etcd; a --data-dir on the command line still wins over this one.
ENV ETCD_DATA_DIR=/var/lib/metastore
EXPOSE 2379 2380
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD curl -fsS http://localhost:2379/health || exit 1
# Exec form: the JVM is PID 1 and gets docker stop's SIGTERM itself; Main then stops gracefully and exits 0.
# The options are scripts/metastore's defaults. Add JVM options with JAVA_TOOL_OPTIONS (e.g. -Xmx512m).
ENTRYPOINT ["java", "-XX:+UseG1GC", "-Xss1m", "-XX:+ExitOnOutOfMemoryError", "--enable-native-access=ALL-UNNAMED", \
            "-cp", "/opt/metastore/metastore-server.jar:/opt/metastore/lib/*", "io.metastore.server.launcher.Main"]
CMD ["--listen-client-urls=http://0.0.0.0:2379", "--advertise-client-urls=http://localhost:2379", \
     "--listen-peer-urls=http://0.0.0.0:2380"]

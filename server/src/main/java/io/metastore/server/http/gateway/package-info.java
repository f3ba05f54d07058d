/**
 * etcd's HTTP/JSON gateway (grpc-gateway) on the client port, as an {@link io.metastore.server.http.HttpRoute}:
 * {@link io.metastore.server.http.gateway.JsonGateway} maps each {@code POST /v3/...} to the gRPC method etcd's
 * {@code google.api.http} options name and runs it on the member's own in-process channel.
 *
 * <p>What etcd's gateway does that this route does not (the {@code HttpResponder} interface has no response
 * headers): the {@code Grpc-Metadata-Content-Type} and CORS response headers; also the websocket proxy for
 * streams and the {@code Grpc-Timeout} request header. Request bodies are capped by the transport
 * (--max-request-bytes), response streams by gRPC flow control (see {@code StreamExchange}).
 *
 * <p>Which etcd: 3.6, whose gateway is grpc-gateway v2 (error body {@code {"code","message","details"}},
 * FailedPrecondition as 400). Debian's etcd 3.4 (v1) is what the comparison test runs against; the test names
 * every difference between the two.
 */
package io.metastore.server.http.gateway;

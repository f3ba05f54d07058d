package io.metastore.proto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.api.AnnotationsProto;
import com.google.api.HttpRule;
import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.OneofDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import io.metastore.proto.authpb.AuthProto;
import io.metastore.proto.etcdserverpb.AuthGrpc;
import io.metastore.proto.etcdserverpb.ClusterGrpc;
import io.metastore.proto.etcdserverpb.KVGrpc;
import io.metastore.proto.etcdserverpb.LeaseGrpc;
import io.metastore.proto.etcdserverpb.MaintenanceGrpc;
import io.metastore.proto.etcdserverpb.RpcProto;
import io.metastore.proto.etcdserverpb.WatchGrpc;
import io.metastore.proto.mvccpb.KvProto;
import io.metastore.proto.v3electionpb.ElectionGrpc;
import io.metastore.proto.v3electionpb.V3ElectionProto;
import io.metastore.proto.v3lockpb.LockGrpc;
import io.metastore.proto.v3lockpb.V3LockProto;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * Checks our hand-written etcd protos against the compiled copy shipped in jetcd-grpc.
 *
 * <p>jetcd's copy is older and trimmed, so the check is one-directional: everything jetcd
 * knows must exist in ours with the same number, type, label and name; ours may have more
 * (3.5/3.6 additions). Both sets of classes coexist in one JVM because protobuf-java keeps
 * no global descriptor pool and the Java packages differ.
 */
class WireCompatibilityTest {

  /** jetcd adds this unary RPC; real etcd has no such method. */
  private static final String JETCD_ONLY_METHOD = "etcdserverpb.Watch/Progress";

  private static final List<FileDescriptor> OURS = List.of(
      RpcProto.getDescriptor(), KvProto.getDescriptor(), AuthProto.getDescriptor(),
      V3LockProto.getDescriptor(), V3ElectionProto.getDescriptor());

  // jetcd's outer classes: rpc.proto -> JetcdProto, kv.proto -> Kv, auth.proto -> Auth,
  // election.proto -> ElectionOuterClass, lock.proto -> lock.JetcdProto.
  private static final List<FileDescriptor> JETCD = List.of(
      io.etcd.jetcd.api.JetcdProto.getDescriptor(), io.etcd.jetcd.api.Kv.getDescriptor(),
      io.etcd.jetcd.api.Auth.getDescriptor(), io.etcd.jetcd.api.ElectionOuterClass.getDescriptor(),
      io.etcd.jetcd.api.lock.JetcdProto.getDescriptor());

  /** Every gRPC method etcd 3.6 (+ 3.7 RangeStream) serves on the client port. */
  private static final Set<String> EXPECTED_METHODS = new TreeSet<>(List.of(
      "etcdserverpb.KV/Range", "etcdserverpb.KV/RangeStream", "etcdserverpb.KV/Put",
      "etcdserverpb.KV/DeleteRange", "etcdserverpb.KV/Txn", "etcdserverpb.KV/Compact",
      "etcdserverpb.Watch/Watch",
      "etcdserverpb.Lease/LeaseGrant", "etcdserverpb.Lease/LeaseRevoke",
      "etcdserverpb.Lease/LeaseKeepAlive", "etcdserverpb.Lease/LeaseTimeToLive",
      "etcdserverpb.Lease/LeaseLeases",
      "etcdserverpb.Cluster/MemberAdd", "etcdserverpb.Cluster/MemberRemove",
      "etcdserverpb.Cluster/MemberUpdate", "etcdserverpb.Cluster/MemberList",
      "etcdserverpb.Cluster/MemberPromote",
      "etcdserverpb.Maintenance/Alarm", "etcdserverpb.Maintenance/Status",
      "etcdserverpb.Maintenance/Defragment", "etcdserverpb.Maintenance/Hash",
      "etcdserverpb.Maintenance/HashKV", "etcdserverpb.Maintenance/Snapshot",
      "etcdserverpb.Maintenance/MoveLeader", "etcdserverpb.Maintenance/Downgrade",
      "etcdserverpb.Auth/AuthEnable", "etcdserverpb.Auth/AuthDisable", "etcdserverpb.Auth/AuthStatus",
      "etcdserverpb.Auth/Authenticate", "etcdserverpb.Auth/UserAdd", "etcdserverpb.Auth/UserGet",
      "etcdserverpb.Auth/UserList", "etcdserverpb.Auth/UserDelete",
      "etcdserverpb.Auth/UserChangePassword", "etcdserverpb.Auth/UserGrantRole",
      "etcdserverpb.Auth/UserRevokeRole", "etcdserverpb.Auth/RoleAdd", "etcdserverpb.Auth/RoleGet",
      "etcdserverpb.Auth/RoleList", "etcdserverpb.Auth/RoleDelete",
      "etcdserverpb.Auth/RoleGrantPermission", "etcdserverpb.Auth/RoleRevokePermission",
      "v3lockpb.Lock/Lock", "v3lockpb.Lock/Unlock",
      "v3electionpb.Election/Campaign", "v3electionpb.Election/Proclaim",
      "v3electionpb.Election/Leader", "v3electionpb.Election/Observe",
      "v3electionpb.Election/Resign"));

  // ---------------------------------------------------------------------------------------
  // Messages and enums
  // ---------------------------------------------------------------------------------------

  @TestFactory
  Stream<DynamicTest> everyJetcdMessageExistsWithIdenticalFields() {
    Map<String, Descriptor> ours = messages(OURS);
    Map<String, Descriptor> theirs = messages(JETCD);
    assertTrue(theirs.size() > 100, "expected jetcd to define >100 messages, got " + theirs.size());
    return theirs.values().stream().map(jetcd -> DynamicTest.dynamicTest(jetcd.getFullName(), () -> {
      Descriptor mine = ours.get(jetcd.getFullName());
      assertNotNull(mine, "missing message " + jetcd.getFullName());
      for (FieldDescriptor jf : jetcd.getFields()) {
        String where = jetcd.getFullName() + "#" + jf.getNumber() + " (" + jf.getName() + ")";
        FieldDescriptor mf = mine.findFieldByNumber(jf.getNumber());
        assertNotNull(mf, "missing field " + where);
        // Name matters for the JSON gateway, not for the binary wire.
        assertEquals(jf.getName(), mf.getName(), "name of " + where);
        assertEquals(jf.getJsonName(), mf.getJsonName(), "json name of " + where);
        assertEquals(jf.getType(), mf.getType(), "type of " + where);
        assertEquals(jf.toProto().getLabel(), mf.toProto().getLabel(), "label of " + where);
        assertEquals(jf.isPacked(), mf.isPacked(), "packed encoding of " + where);
        assertEquals(jf.hasPresence(), mf.hasPresence(), "presence of " + where);
        assertEquals(oneofName(jf), oneofName(mf), "oneof of " + where);
        if (jf.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
          assertEquals(jf.getMessageType().getFullName(), mf.getMessageType().getFullName(),
              "message type of " + where);
        } else if (jf.getJavaType() == FieldDescriptor.JavaType.ENUM) {
          assertEquals(jf.getEnumType().getFullName(), mf.getEnumType().getFullName(),
              "enum type of " + where);
        }
      }
    }));
  }

  @TestFactory
  Stream<DynamicTest> everyJetcdEnumExistsWithIdenticalValues() {
    Map<String, EnumDescriptor> ours = enums(OURS);
    Map<String, EnumDescriptor> theirs = enums(JETCD);
    assertFalse(theirs.isEmpty());
    return theirs.values().stream().map(jetcd -> DynamicTest.dynamicTest(jetcd.getFullName(), () -> {
      EnumDescriptor mine = ours.get(jetcd.getFullName());
      assertNotNull(mine, "missing enum " + jetcd.getFullName());
      for (EnumValueDescriptor jv : jetcd.getValues()) {
        EnumValueDescriptor mv = mine.findValueByName(jv.getName());
        assertNotNull(mv, "missing value " + jetcd.getFullName() + "." + jv.getName());
        assertEquals(jv.getNumber(), mv.getNumber(), "number of " + jetcd.getFullName() + "." + jv.getName());
      }
    }));
  }

  /** The 3.5/3.6 additions jetcd lacks, so the jetcd comparison cannot vouch for them. */
  @Test
  void newerEtcdAdditionsArePresent() {
    Map<String, Descriptor> ours = messages(OURS);
    assertField(ours, "etcdserverpb.WatchCreateRequest", 7, "watch_id", FieldDescriptor.Type.INT64);
    assertField(ours, "etcdserverpb.WatchCreateRequest", 8, "fragment", FieldDescriptor.Type.BOOL);
    assertField(ours, "etcdserverpb.WatchResponse", 7, "fragment", FieldDescriptor.Type.BOOL);
    assertField(ours, "etcdserverpb.WatchResponse", 11, "events", FieldDescriptor.Type.MESSAGE);
    assertField(ours, "etcdserverpb.HashKVResponse", 4, "hash_revision", FieldDescriptor.Type.INT64);
    assertField(ours, "etcdserverpb.StatusResponse", 11, "storageVersion", FieldDescriptor.Type.STRING);
    assertField(ours, "etcdserverpb.StatusResponse", 12, "dbSizeQuota", FieldDescriptor.Type.INT64);
    assertField(ours, "etcdserverpb.StatusResponse", 13, "downgradeInfo", FieldDescriptor.Type.MESSAGE);
    assertField(ours, "etcdserverpb.DowngradeInfo", 2, "targetVersion", FieldDescriptor.Type.STRING);
    assertField(ours, "etcdserverpb.MemberListRequest", 1, "linearizable", FieldDescriptor.Type.BOOL);
    assertField(ours, "etcdserverpb.SnapshotResponse", 4, "version", FieldDescriptor.Type.STRING);
    assertField(ours, "etcdserverpb.AuthUserAddRequest", 4, "hashedPassword", FieldDescriptor.Type.STRING);
    assertField(ours, "etcdserverpb.AuthUserAddRequest", 3, "options", FieldDescriptor.Type.MESSAGE);
    assertField(ours, "etcdserverpb.AuthUserChangePasswordRequest", 3, "hashedPassword", FieldDescriptor.Type.STRING);
    assertField(ours, "etcdserverpb.AuthStatusResponse", 3, "authRevision", FieldDescriptor.Type.UINT64);
    assertField(ours, "etcdserverpb.LeaseLeasesResponse", 2, "leases", FieldDescriptor.Type.MESSAGE);
    assertField(ours, "etcdserverpb.LeaseCheckpoint", 2, "remaining_TTL", FieldDescriptor.Type.INT64);
    assertField(ours, "etcdserverpb.DowngradeRequest", 2, "version", FieldDescriptor.Type.STRING);
    assertField(ours, "etcdserverpb.DowngradeVersionTestRequest", 1, "ver", FieldDescriptor.Type.STRING);
    assertField(ours, "etcdserverpb.RangeStreamResponse", 1, "range_response", FieldDescriptor.Type.MESSAGE);
    assertField(ours, "authpb.UserAddOptions", 1, "no_password", FieldDescriptor.Type.BOOL);
    assertField(ours, "authpb.User", 4, "options", FieldDescriptor.Type.MESSAGE);
    // Upstream 3.4+ has these as bytes (3.3 had string); jetcd may be either, so pin it here.
    assertField(ours, "etcdserverpb.AuthRoleRevokePermissionRequest", 2, "key", FieldDescriptor.Type.BYTES);
    assertField(ours, "etcdserverpb.AuthRoleRevokePermissionRequest", 3, "range_end", FieldDescriptor.Type.BYTES);
  }

  /** Bytes written by jetcd's classes parse into ours and back without loss. */
  @Test
  void jetcdBytesRoundTripThroughOurClasses() throws Exception {
    io.etcd.jetcd.api.TxnRequest jetcdTxn = io.etcd.jetcd.api.TxnRequest.newBuilder()
        .addCompare(io.etcd.jetcd.api.Compare.newBuilder()
            .setKey(ByteString.copyFromUtf8("k"))
            .setTarget(io.etcd.jetcd.api.Compare.CompareTarget.MOD)
            .setResult(io.etcd.jetcd.api.Compare.CompareResult.EQUAL)
            .setModRevision(42))
        .addSuccess(io.etcd.jetcd.api.RequestOp.newBuilder()
            .setRequestPut(io.etcd.jetcd.api.PutRequest.newBuilder()
                .setKey(ByteString.copyFromUtf8("k")).setValue(ByteString.copyFrom(new byte[] {(byte) 0xff}))
                .setLease(7).setPrevKv(true)))
        .addFailure(io.etcd.jetcd.api.RequestOp.newBuilder()
            .setRequestRange(io.etcd.jetcd.api.RangeRequest.newBuilder()
                .setKey(ByteString.copyFromUtf8("k"))
                .setSortOrder(io.etcd.jetcd.api.RangeRequest.SortOrder.DESCEND)
                .setSortTarget(io.etcd.jetcd.api.RangeRequest.SortTarget.CREATE)
                .setMaxCreateRevision(9)))
        .build();

    io.metastore.proto.etcdserverpb.TxnRequest ours =
        io.metastore.proto.etcdserverpb.TxnRequest.parseFrom(jetcdTxn.toByteArray());
    assertTrue(ours.getUnknownFields().asMap().isEmpty());
    assertEquals(42, ours.getCompare(0).getModRevision());
    assertEquals(io.metastore.proto.etcdserverpb.Compare.TargetUnionCase.MOD_REVISION,
        ours.getCompare(0).getTargetUnionCase());
    assertEquals(7, ours.getSuccess(0).getRequestPut().getLease());
    assertEquals(io.metastore.proto.etcdserverpb.RangeRequest.SortTarget.CREATE,
        ours.getFailure(0).getRequestRange().getSortTarget());
    assertEquals(jetcdTxn, io.etcd.jetcd.api.TxnRequest.parseFrom(ours.toByteArray()));

    io.metastore.proto.etcdserverpb.WatchResponse watch = io.metastore.proto.etcdserverpb.WatchResponse.newBuilder()
        .setWatchId(-1).setCanceled(true).setCompactRevision(5).setCancelReason("x")
        .addEvents(io.metastore.proto.mvccpb.Event.newBuilder()
            .setType(io.metastore.proto.mvccpb.Event.EventType.DELETE)
            .setKv(io.metastore.proto.mvccpb.KeyValue.newBuilder().setKey(ByteString.copyFromUtf8("a")).setModRevision(3)))
        .build();
    io.etcd.jetcd.api.WatchResponse asJetcd = io.etcd.jetcd.api.WatchResponse.parseFrom(watch.toByteArray());
    assertEquals(-1, asJetcd.getWatchId());
    assertEquals(io.etcd.jetcd.api.Event.EventType.DELETE, asJetcd.getEvents(0).getType());
    assertEquals(3, asJetcd.getEvents(0).getKv().getModRevision());
  }

  // ---------------------------------------------------------------------------------------
  // Services
  // ---------------------------------------------------------------------------------------

  @Test
  void grpcFullMethodNamesAreEtcds() {
    Set<String> actual = new TreeSet<>();
    for (io.grpc.ServiceDescriptor sd : ourGrpcServices()) {
      for (io.grpc.MethodDescriptor<?, ?> md : sd.getMethods()) {
        assertEquals(sd.getName(), md.getServiceName());
        actual.add(md.getFullMethodName());
      }
    }
    assertEquals(EXPECTED_METHODS, actual);
    assertEquals("etcdserverpb.KV", KVGrpc.SERVICE_NAME);
    assertEquals("etcdserverpb.Watch/Watch", WatchGrpc.getWatchMethod().getFullMethodName());
    assertEquals("v3lockpb.Lock/Lock", LockGrpc.getLockMethod().getFullMethodName());
    assertEquals("v3electionpb.Election/Campaign", ElectionGrpc.getCampaignMethod().getFullMethodName());
  }

  @TestFactory
  Stream<DynamicTest> everyJetcdMethodExistsWithSameShape() {
    Map<String, io.grpc.MethodDescriptor<?, ?>> ours = new LinkedHashMap<>();
    for (io.grpc.ServiceDescriptor sd : ourGrpcServices()) {
      sd.getMethods().forEach(m -> ours.put(m.getFullMethodName(), m));
    }
    List<io.grpc.ServiceDescriptor> jetcdServices = List.of(
        io.etcd.jetcd.api.KVGrpc.getServiceDescriptor(), io.etcd.jetcd.api.WatchGrpc.getServiceDescriptor(),
        io.etcd.jetcd.api.LeaseGrpc.getServiceDescriptor(), io.etcd.jetcd.api.ClusterGrpc.getServiceDescriptor(),
        io.etcd.jetcd.api.MaintenanceGrpc.getServiceDescriptor(), io.etcd.jetcd.api.AuthGrpc.getServiceDescriptor(),
        io.etcd.jetcd.api.lock.LockGrpc.getServiceDescriptor(), io.etcd.jetcd.api.ElectionGrpc.getServiceDescriptor());
    Map<String, MethodDescriptor> ourProtoMethods = protoMethods(OURS);
    Map<String, MethodDescriptor> theirProtoMethods = protoMethods(JETCD);
    List<DynamicTest> tests = new ArrayList<>();
    for (io.grpc.ServiceDescriptor sd : jetcdServices) {
      for (io.grpc.MethodDescriptor<?, ?> jm : sd.getMethods()) {
        String name = jm.getFullMethodName();
        if (name.equals(JETCD_ONLY_METHOD)) {
          continue;
        }
        tests.add(DynamicTest.dynamicTest(name, () -> {
          io.grpc.MethodDescriptor<?, ?> mm = ours.get(name);
          assertNotNull(mm, "missing method " + name);
          assertEquals(jm.getType(), mm.getType(), "streaming kind of " + name);
          MethodDescriptor jp = theirProtoMethods.get(name);
          MethodDescriptor mp = ourProtoMethods.get(name);
          assertEquals(jp.getInputType().getFullName(), mp.getInputType().getFullName(), "input of " + name);
          assertEquals(jp.getOutputType().getFullName(), mp.getOutputType().getFullName(), "output of " + name);
        }));
      }
    }
    assertTrue(tests.size() >= 40, "jetcd services unexpectedly small: " + tests.size());
    return tests.stream();
  }

  /** The JSON gateway will read these rules from the descriptors. */
  @Test
  void everyRpcButRangeStreamHasAGatewayRule() {
    Map<String, MethodDescriptor> methods = protoMethods(OURS);
    for (Map.Entry<String, MethodDescriptor> e : methods.entrySet()) {
      HttpRule rule = e.getValue().getOptions().getExtension(AnnotationsProto.http);
      if (e.getKey().equals("etcdserverpb.KV/RangeStream")) {
        assertEquals(HttpRule.getDefaultInstance(), rule, "RangeStream must have no gateway mapping");
        continue;
      }
      assertTrue(rule.getPost().startsWith("/v3/"), e.getKey() + " has no POST /v3/... rule: " + rule);
      assertEquals("*", rule.getBody(), "body of " + e.getKey());
    }
    assertEquals("/v3/kv/range", rule(methods, "etcdserverpb.KV/Range").getPost());
    assertEquals("/v3/watch", rule(methods, "etcdserverpb.Watch/Watch").getPost());
    assertEquals("/v3/maintenance/hashkv", rule(methods, "etcdserverpb.Maintenance/HashKV").getPost());
    assertEquals("/v3/maintenance/transfer-leadership",
        rule(methods, "etcdserverpb.Maintenance/MoveLeader").getPost());
    assertEquals("/v3/auth/user/changepw", rule(methods, "etcdserverpb.Auth/UserChangePassword").getPost());
    assertEquals("/v3/election/observe", rule(methods, "v3electionpb.Election/Observe").getPost());
    HttpRule revoke = rule(methods, "etcdserverpb.Lease/LeaseRevoke");
    assertEquals("/v3/lease/revoke", revoke.getPost());
    assertEquals(List.of("/v3/kv/lease/revoke"),
        revoke.getAdditionalBindingsList().stream().map(HttpRule::getPost).collect(Collectors.toList()));
  }

  // ---------------------------------------------------------------------------------------
  // Helpers
  // ---------------------------------------------------------------------------------------

  private static List<io.grpc.ServiceDescriptor> ourGrpcServices() {
    return List.of(KVGrpc.getServiceDescriptor(), WatchGrpc.getServiceDescriptor(),
        LeaseGrpc.getServiceDescriptor(), ClusterGrpc.getServiceDescriptor(),
        MaintenanceGrpc.getServiceDescriptor(), AuthGrpc.getServiceDescriptor(),
        LockGrpc.getServiceDescriptor(), ElectionGrpc.getServiceDescriptor());
  }

  private static HttpRule rule(Map<String, MethodDescriptor> methods, String name) {
    return methods.get(name).getOptions().getExtension(AnnotationsProto.http);
  }

  private static void assertField(Map<String, Descriptor> msgs, String msg, int number, String name,
      FieldDescriptor.Type type) {
    Descriptor d = msgs.get(msg);
    assertNotNull(d, "missing message " + msg);
    FieldDescriptor f = d.findFieldByNumber(number);
    assertNotNull(f, "missing " + msg + "#" + number);
    assertEquals(name, f.getName(), msg + "#" + number);
    assertEquals(type, f.getType(), msg + "." + name);
  }

  private static String oneofName(FieldDescriptor f) {
    OneofDescriptor o = f.getRealContainingOneof();
    return o == null ? null : o.getName();
  }

  /** All messages of the given files, including nested ones, keyed by full name. */
  private static Map<String, Descriptor> messages(List<FileDescriptor> files) {
    Map<String, Descriptor> out = new LinkedHashMap<>();
    for (FileDescriptor f : files) {
      f.getMessageTypes().forEach(d -> addMessage(out, d));
    }
    return out;
  }

  private static void addMessage(Map<String, Descriptor> out, Descriptor d) {
    out.put(d.getFullName(), d);
    d.getNestedTypes().forEach(n -> addMessage(out, n));
  }

  private static Map<String, EnumDescriptor> enums(List<FileDescriptor> files) {
    Map<String, EnumDescriptor> out = new LinkedHashMap<>();
    for (FileDescriptor f : files) {
      f.getEnumTypes().forEach(e -> out.put(e.getFullName(), e));
    }
    messages(files).values().forEach(d -> d.getEnumTypes().forEach(e -> out.put(e.getFullName(), e)));
    return out;
  }

  /** Protobuf-level method descriptors keyed by gRPC full method name. */
  private static Map<String, MethodDescriptor> protoMethods(List<FileDescriptor> files) {
    Map<String, MethodDescriptor> out = new LinkedHashMap<>();
    for (FileDescriptor f : files) {
      for (ServiceDescriptor s : f.getServices()) {
        s.getMethods().forEach(m -> out.put(s.getFullName() + "/" + m.getName(), m));
      }
    }
    return out;
  }
}

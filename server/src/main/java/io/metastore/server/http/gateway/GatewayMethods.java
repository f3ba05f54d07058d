package io.metastore.server.http.gateway;

import com.google.protobuf.Message;
import io.grpc.MethodDescriptor;
import io.metastore.proto.etcdserverpb.AuthGrpc;
import io.metastore.proto.etcdserverpb.ClusterGrpc;
import io.metastore.proto.etcdserverpb.KVGrpc;
import io.metastore.proto.etcdserverpb.LeaseGrpc;
import io.metastore.proto.etcdserverpb.MaintenanceGrpc;
import io.metastore.proto.etcdserverpb.WatchGrpc;
import io.metastore.proto.v3electionpb.ElectionGrpc;
import io.metastore.proto.v3lockpb.LockGrpc;

import java.util.HashMap;
import java.util.Map;

/**
 * etcd's gateway paths and the RPC each one calls. etcd declares them as {@code google.api.http} options in
 * rpc.proto, v3lock.proto and v3election.proto (every one a POST with the whole message as body); our protos
 * carry no such options, so the table is written out here, aliases included.
 */
final class GatewayMethods {
    private final Map<String, MethodDescriptor<Message, Message>> byPath = new HashMap<>();

    private GatewayMethods() {
        add("/v3/kv/range", KVGrpc.getRangeMethod());
        add("/v3/kv/put", KVGrpc.getPutMethod());
        add("/v3/kv/deleterange", KVGrpc.getDeleteRangeMethod());
        add("/v3/kv/txn", KVGrpc.getTxnMethod());
        add("/v3/kv/compaction", KVGrpc.getCompactMethod());

        add("/v3/watch", WatchGrpc.getWatchMethod());

        add("/v3/lease/grant", LeaseGrpc.getLeaseGrantMethod());
        add("/v3/lease/revoke", LeaseGrpc.getLeaseRevokeMethod());
        add("/v3/kv/lease/revoke", LeaseGrpc.getLeaseRevokeMethod());
        add("/v3/lease/keepalive", LeaseGrpc.getLeaseKeepAliveMethod());
        add("/v3/lease/timetolive", LeaseGrpc.getLeaseTimeToLiveMethod());
        add("/v3/kv/lease/timetolive", LeaseGrpc.getLeaseTimeToLiveMethod());
        add("/v3/lease/leases", LeaseGrpc.getLeaseLeasesMethod());
        add("/v3/kv/lease/leases", LeaseGrpc.getLeaseLeasesMethod());

        add("/v3/cluster/member/add", ClusterGrpc.getMemberAddMethod());
        add("/v3/cluster/member/remove", ClusterGrpc.getMemberRemoveMethod());
        add("/v3/cluster/member/update", ClusterGrpc.getMemberUpdateMethod());
        add("/v3/cluster/member/list", ClusterGrpc.getMemberListMethod());
        add("/v3/cluster/member/promote", ClusterGrpc.getMemberPromoteMethod());

        add("/v3/maintenance/alarm", MaintenanceGrpc.getAlarmMethod());
        add("/v3/maintenance/status", MaintenanceGrpc.getStatusMethod());
        add("/v3/maintenance/defragment", MaintenanceGrpc.getDefragmentMethod());
        add("/v3/maintenance/hash", MaintenanceGrpc.getHashMethod());
        add("/v3/maintenance/hashkv", MaintenanceGrpc.getHashKVMethod());
        add("/v3/maintenance/snapshot", MaintenanceGrpc.getSnapshotMethod());
        add("/v3/maintenance/transfer-leadership", MaintenanceGrpc.getMoveLeaderMethod());
        add("/v3/maintenance/downgrade", MaintenanceGrpc.getDowngradeMethod());

        add("/v3/auth/enable", AuthGrpc.getAuthEnableMethod());
        add("/v3/auth/disable", AuthGrpc.getAuthDisableMethod());
        add("/v3/auth/status", AuthGrpc.getAuthStatusMethod());
        add("/v3/auth/authenticate", AuthGrpc.getAuthenticateMethod());
        add("/v3/auth/user/add", AuthGrpc.getUserAddMethod());
        add("/v3/auth/user/get", AuthGrpc.getUserGetMethod());
        add("/v3/auth/user/list", AuthGrpc.getUserListMethod());
        add("/v3/auth/user/delete", AuthGrpc.getUserDeleteMethod());
        add("/v3/auth/user/changepw", AuthGrpc.getUserChangePasswordMethod());
        add("/v3/auth/user/grant", AuthGrpc.getUserGrantRoleMethod());
        add("/v3/auth/user/revoke", AuthGrpc.getUserRevokeRoleMethod());
        add("/v3/auth/role/add", AuthGrpc.getRoleAddMethod());
        add("/v3/auth/role/get", AuthGrpc.getRoleGetMethod());
        add("/v3/auth/role/list", AuthGrpc.getRoleListMethod());
        add("/v3/auth/role/delete", AuthGrpc.getRoleDeleteMethod());
        add("/v3/auth/role/grant", AuthGrpc.getRoleGrantPermissionMethod());
        add("/v3/auth/role/revoke", AuthGrpc.getRoleRevokePermissionMethod());

        add("/v3/lock/lock", LockGrpc.getLockMethod());
        add("/v3/lock/unlock", LockGrpc.getUnlockMethod());

        add("/v3/election/campaign", ElectionGrpc.getCampaignMethod());
        add("/v3/election/proclaim", ElectionGrpc.getProclaimMethod());
        add("/v3/election/leader", ElectionGrpc.getLeaderMethod());
        add("/v3/election/observe", ElectionGrpc.getObserveMethod());
        add("/v3/election/resign", ElectionGrpc.getResignMethod());
    }

    static GatewayMethods etcd() {
        return new GatewayMethods();
    }

    /** The RPC served at {@code path} ("/v3beta/..." and "/v3alpha/..." as "/v3/..."), or null. */
    MethodDescriptor<Message, Message> find(String path) {
        return byPath.get(canonical(path));
    }

    /**
     * etcd 3.4 still answers the pre-3.4 prefixes (clients such as Patroni pick one by the cluster version), as
     * aliases of /v3/.
     */
    static String canonical(String path) {
        for (String old : new String[] {"/v3beta/", "/v3alpha/"}) {
            if (path.startsWith(old)) {
                return "/v3/" + path.substring(old.length());
            }
        }
        return path;
    }

    /** The request message type of a method: its marshaller's prototype (every generated method has one). */
    static Message requestPrototype(MethodDescriptor<Message, Message> method) {
        return (Message) ((MethodDescriptor.PrototypeMarshaller<?>) method.getRequestMarshaller())
                .getMessagePrototype();
    }

    @SuppressWarnings("unchecked")
    private void add(String path, MethodDescriptor<?, ?> method) {
        byPath.put(path, (MethodDescriptor<Message, Message>) method);
    }
}

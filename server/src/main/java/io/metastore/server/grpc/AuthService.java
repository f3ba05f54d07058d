package io.metastore.server.grpc;

import io.grpc.stub.StreamObserver;
import io.metastore.proto.etcdserverpb.*;
import io.metastore.server.EtcdServer;

/**
 * etcdserverpb.Auth over {@link EtcdServer}: translation only. Who may call what is decided by
 * {@link AuthInterceptor}'s rule table and the domain.
 */
public final class AuthService extends AuthGrpc.AuthImplBase {
    private final EtcdServer server;

    public AuthService(EtcdServer server) {
        this.server = server;
    }

    @Override
    public void authenticate(AuthenticateRequest request, StreamObserver<AuthenticateResponse> out) {
        Unary.reply(() -> server.authenticate(request), out);
    }

    @Override
    public void authStatus(AuthStatusRequest request, StreamObserver<AuthStatusResponse> out) {
        Unary.reply(() -> server.authStatus(request), out);
    }

    @Override
    public void authEnable(AuthEnableRequest request, StreamObserver<AuthEnableResponse> out) {
        Unary.reply(() -> server.authEnable(AuthInterceptor.caller(), request), out);
    }

    @Override
    public void authDisable(AuthDisableRequest request, StreamObserver<AuthDisableResponse> out) {
        Unary.reply(() -> server.authDisable(AuthInterceptor.caller(), request), out);
    }

    @Override
    public void userAdd(AuthUserAddRequest request, StreamObserver<AuthUserAddResponse> out) {
        Unary.reply(() -> server.userAdd(AuthInterceptor.caller(), request), out);
    }

    @Override
    public void userDelete(AuthUserDeleteRequest request, StreamObserver<AuthUserDeleteResponse> out) {
        Unary.reply(() -> server.userDelete(AuthInterceptor.caller(), request), out);
    }

    @Override
    public void userChangePassword(AuthUserChangePasswordRequest request, StreamObserver<AuthUserChangePasswordResponse> out) {
        Unary.reply(() -> server.userChangePassword(AuthInterceptor.caller(), request), out);
    }

    @Override
    public void userGrantRole(AuthUserGrantRoleRequest request, StreamObserver<AuthUserGrantRoleResponse> out) {
        Unary.reply(() -> server.userGrantRole(AuthInterceptor.caller(), request), out);
    }

    @Override
    public void userRevokeRole(AuthUserRevokeRoleRequest request, StreamObserver<AuthUserRevokeRoleResponse> out) {
        Unary.reply(() -> server.userRevokeRole(AuthInterceptor.caller(), request), out);
    }

    @Override
    public void roleAdd(AuthRoleAddRequest request, StreamObserver<AuthRoleAddResponse> out) {
        Unary.reply(() -> server.roleAdd(AuthInterceptor.caller(), request), out);
    }

    @Override
    public void roleDelete(AuthRoleDeleteRequest request, StreamObserver<AuthRoleDeleteResponse> out) {
        Unary.reply(() -> server.roleDelete(AuthInterceptor.caller(), request), out);
    }

    @Override
    public void roleGrantPermission(AuthRoleGrantPermissionRequest request, StreamObserver<AuthRoleGrantPermissionResponse> out) {
        Unary.reply(() -> server.roleGrantPermission(AuthInterceptor.caller(), request), out);
    }

    @Override
    public void roleRevokePermission(AuthRoleRevokePermissionRequest request, StreamObserver<AuthRoleRevokePermissionResponse> out) {
        Unary.reply(() -> server.roleRevokePermission(AuthInterceptor.caller(), request), out);
    }

    @Override
    public void userGet(AuthUserGetRequest request, StreamObserver<AuthUserGetResponse> out) {
        Unary.reply(() -> server.userGet(AuthInterceptor.caller(), request), out);
    }

    @Override
    public void userList(AuthUserListRequest request, StreamObserver<AuthUserListResponse> out) {
        Unary.reply(() -> server.userList(AuthInterceptor.caller(), request), out);
    }

    @Override
    public void roleGet(AuthRoleGetRequest request, StreamObserver<AuthRoleGetResponse> out) {
        Unary.reply(() -> server.roleGet(AuthInterceptor.caller(), request), out);
    }

    @Override
    public void roleList(AuthRoleListRequest request, StreamObserver<AuthRoleListResponse> out) {
        Unary.reply(() -> server.roleList(AuthInterceptor.caller(), request), out);
    }
}

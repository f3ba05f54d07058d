package io.metastore.auth;

import io.metastore.proto.authpb.Role;
import io.metastore.proto.authpb.User;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One immutable version of the replicated auth state. {@link AuthStore} swaps in a new one after every
 * applied change, so readers on other threads (interceptors, token checks) always see a consistent whole,
 * never half of a RoleDelete that touches several users. The per-user {@link RangePermissions} are built
 * lazily and belong to this version: a new version (every auth revision change) starts with an empty cache.
 */
final class AuthState {
    static final String ROOT = "root";

    static final AuthState EMPTY = new AuthState(false, AuthStore.INITIAL_REVISION,
            new TreeMap<>(Utf8Order.NAMES), new TreeMap<>(Utf8Order.NAMES));

    final boolean enabled;
    final long revision;
    final SortedMap<String, User> users;   // unmodifiable, UTF-8 byte order
    final SortedMap<String, Role> roles;   // unmodifiable, UTF-8 byte order
    private final Map<String, RangePermissions> permissionCache = new ConcurrentHashMap<>();

    AuthState(boolean enabled, long revision, SortedMap<String, User> users, SortedMap<String, Role> roles) {
        this.enabled = enabled;
        this.revision = revision;
        this.users = Collections.unmodifiableSortedMap(users);
        this.roles = Collections.unmodifiableSortedMap(roles);
    }

    static boolean hasRootRole(User u) {
        return u.getRolesList().contains(ROOT);
    }

    /** The merged permissions of {@code username}; {@link RangePermissions#NONE} for an unknown user. */
    RangePermissions permissionsOf(String username) {
        User user = users.get(username);
        if (user == null) {
            return RangePermissions.NONE;
        }
        return permissionCache.computeIfAbsent(username, n -> {
            List<Role> granted = new ArrayList<>();
            for (String r : user.getRolesList()) {
                Role role = roles.get(r);
                if (role != null) {
                    granted.add(role);
                }
            }
            return RangePermissions.of(granted);
        });
    }

    /** A mutable copy to build the next version from. */
    Builder toBuilder() {
        return new Builder(this);
    }

    static final class Builder {
        boolean enabled;
        long revision;
        final TreeMap<String, User> users = new TreeMap<>(Utf8Order.NAMES);
        final TreeMap<String, Role> roles = new TreeMap<>(Utf8Order.NAMES);

        private Builder(AuthState from) {
            enabled = from.enabled;
            revision = from.revision;
            users.putAll(from.users);
            roles.putAll(from.roles);
        }

        AuthState build() {
            return new AuthState(enabled, revision, users, roles);
        }
    }
}

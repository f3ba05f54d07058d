package io.metastore.server.maintenance;

import io.metastore.proto.etcdserverpb.AlarmMember;
import io.metastore.proto.etcdserverpb.AlarmType;
import io.metastore.storage.MvccStore;
import io.metastore.storage.MvccWriteTxn;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** Replicated alarms (NOSPACE, CORRUPT), persisted in store metadata so they survive restarts. */
public final class AlarmStore {
    private static final byte[] PREFIX = "alarm/".getBytes(StandardCharsets.US_ASCII);

    private final MvccStore store;
    private final Set<AlarmMember> active = ConcurrentHashMap.newKeySet();
    private final List<Runnable> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    public AlarmStore(MvccStore store) {
        this.store = store;
    }

    public void reload() {
        active.clear();
        store.scanMeta(PREFIX, (k, v) -> {
            ByteBuffer b = ByteBuffer.wrap(k, PREFIX.length, 12);
            long member = b.getLong();
            int type = b.getInt();
            active.add(AlarmMember.newBuilder().setMemberID(member).setAlarmValue(type).build());
        });
        changed();
    }

    /**
     * Runs {@code listener} after every change of the active set (raised, cleared, reloaded), on the thread that
     * made it (the apply thread): it must be quick.
     */
    public void onChange(Runnable listener) {
        listeners.add(listener);
    }

    private void changed() {
        for (Runnable l : listeners) {
            l.run();
        }
    }

    /** Returns the alarm if it was newly raised, else null. */
    public AlarmMember activate(MvccWriteTxn txn, long memberId, AlarmType type) {
        AlarmMember m = AlarmMember.newBuilder().setMemberID(memberId).setAlarm(type).build();
        if (type == AlarmType.NONE || active.contains(m)) {
            return null;
        }
        txn.putMeta(key(memberId, type), new byte[0]);
        active.add(m);
        changed();
        return m;
    }

    /** Returns the alarm if it was active, else null. */
    public AlarmMember deactivate(MvccWriteTxn txn, long memberId, AlarmType type) {
        AlarmMember m = AlarmMember.newBuilder().setMemberID(memberId).setAlarm(type).build();
        if (!active.remove(m)) {
            return null;
        }
        txn.deleteMeta(key(memberId, type));
        changed();
        return m;
    }

    /** etcd's GET: type NONE lists every alarm. */
    public List<AlarmMember> list(AlarmType type) {
        List<AlarmMember> out = new ArrayList<>();
        for (AlarmMember m : active) {
            if (type == AlarmType.NONE || m.getAlarm() == type) {
                out.add(m);
            }
        }
        out.sort((a, b) -> a.getMemberID() != b.getMemberID()
                ? Long.compareUnsigned(a.getMemberID(), b.getMemberID())
                : Integer.compare(a.getAlarmValue(), b.getAlarmValue()));
        return out;
    }

    public boolean isActive(AlarmType type) {
        for (AlarmMember m : active) {
            if (m.getAlarm() == type) {
                return true;
            }
        }
        return false;
    }

    private static byte[] key(long memberId, AlarmType type) {
        return ByteBuffer.allocate(PREFIX.length + 12).put(PREFIX).putLong(memberId).putInt(type.getNumber()).array();
    }
}

package io.metastore.server.apply;

import com.google.protobuf.ByteString;
import io.metastore.proto.etcdserverpb.DeleteRangeRequest;
import io.metastore.proto.etcdserverpb.PutRequest;
import io.metastore.proto.etcdserverpb.RequestOp;
import io.metastore.proto.etcdserverpb.TxnRequest;
import io.metastore.proto.raftcmd.RaftCommand;

import java.util.List;
import java.util.Locale;

/**
 * The "request" field of the slow-apply warning: a short protobuf-text-like summary as etcd logs it, with values
 * replaced by their size (etcd's value_size) and nothing secret (no values, no passwords, no tokens).
 */
final class ApplyRequestSummary {
    private static final int MAX_KEY_CHARS = 256;
    private static final int MAX_TXN_OPS_SHOWN = 8;

    private ApplyRequestSummary() {}

    static String of(RaftCommand cmd) {
        return switch (cmd.getCommandCase()) {
            case PUT -> "put:<" + put(cmd.getPut()) + ">";
            case DELETE_RANGE -> "delete_range:<" + deleteRange(cmd.getDeleteRange()) + ">";
            case TXN -> "txn:<" + txn(cmd.getTxn()) + ">";
            case COMPACTION -> "compaction:<revision:" + cmd.getCompaction().getRevision() + " >";
            case LEASE_GRANT -> "lease_grant:<ttl:" + cmd.getLeaseGrant().getTTL() + "-second id:"
                    + Long.toHexString(cmd.getLeaseGrant().getID()) + ">";
            case LEASE_REVOKE -> "lease_revoke:<id:" + Long.toHexString(cmd.getLeaseRevoke().getID()) + ">";
            // the rest carry names and passwords or nothing worth showing: their kind is enough
            default -> cmd.getCommandCase().name().toLowerCase(Locale.ROOT) + ":<>";
        };
    }

    private static String put(PutRequest p) {
        return "key:" + key(p.getKey()) + " value_size:" + p.getValue().size()
                + (p.getLease() != 0 ? " lease:" + p.getLease() : "") + " ";
    }

    private static String deleteRange(DeleteRangeRequest d) {
        return "key:" + key(d.getKey()) + (d.getRangeEnd().isEmpty() ? "" : " range_end:" + key(d.getRangeEnd()))
                + " ";
    }

    private static String txn(TxnRequest t) {
        return "compare:" + t.getCompareCount() + " success:" + ops(t.getSuccessList())
                + " failure:" + ops(t.getFailureList()) + " ";
    }

    private static String ops(List<RequestOp> ops) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < ops.size() && i < MAX_TXN_OPS_SHOWN; i++) {
            RequestOp op = ops.get(i);
            sb.append(i == 0 ? "" : " ").append(switch (op.getRequestCase()) {
                case REQUEST_PUT -> "request_put:<" + put(op.getRequestPut()) + ">";
                case REQUEST_DELETE_RANGE -> "request_delete_range:<" + deleteRange(op.getRequestDeleteRange()) + ">";
                case REQUEST_RANGE -> "request_range:<key:" + key(op.getRequestRange().getKey()) + " >";
                case REQUEST_TXN -> "request_txn:<" + txn(op.getRequestTxn()) + ">";
                default -> "<>";
            });
        }
        if (ops.size() > MAX_TXN_OPS_SHOWN) {
            sb.append(" ... ").append(ops.size() - MAX_TXN_OPS_SHOWN).append(" more");
        }
        return sb.append(']').toString();
    }

    /** A key in protobuf text style: quoted, printable ASCII as is, other bytes as octal escapes. */
    private static String key(ByteString key) {
        StringBuilder sb = new StringBuilder("\"");
        int n = Math.min(key.size(), MAX_KEY_CHARS);
        for (int i = 0; i < n; i++) {
            int b = key.byteAt(i) & 0xff;
            if (b == '"' || b == '\\') {
                sb.append('\\').append((char) b);
            } else if (b >= 0x20 && b < 0x7f) {
                sb.append((char) b);
            } else {
                sb.append('\\').append(String.format("%03o", b));
            }
        }
        if (key.size() > n) {
            sb.append("...");
        }
        return sb.append('"').toString();
    }
}

package io.metastore.storage.internal;

import io.metastore.storage.AppliedIndex;
import io.metastore.storage.KeyValue;
import io.metastore.storage.spi.BackendReader;
import io.metastore.storage.spi.StoredVersion;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.zip.CRC32C;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;

/**
 * The engine-independent snapshot image (all integers big-endian):
 * <pre>
 *   magic "MSSP" (int 0x4D535350), format version (int 1)
 *   header: current revision, compact revision, applied term, applied index (long each)
 *   records, each a tag byte:
 *     'V' version: main, sub (long), tombstone (byte 0/1), key (int length + bytes), value (int length +
 *         bytes), create revision, version, lease (long) -- every stored version, in (main, sub) order
 *     'M' meta:    key (int length + bytes), value (int length + bytes) -- all meta, bookkeeping included
 *   'E' end: number of version records, number of meta records (long each)
 *   trailer: CRC32C (int) of every byte from the magic through the end record
 * </pre>
 * The header repeats what the bookkeeping meta records say so an image can be inspected without loading it.
 */
public final class SnapshotCodec {
    private SnapshotCodec() {}

    static final int MAGIC = 0x4D535350;
    static final int FORMAT_VERSION = 1;
    private static final byte TAG_VERSION = 'V';
    private static final byte TAG_META = 'M';
    private static final byte TAG_END = 'E';

    public record Header(long currentRevision, long compactRevision, AppliedIndex applied) {}

    /** Receives the records of an image as they are read. */
    public interface Sink {
        Sink DISCARD = new Sink() {};

        default void header(Header header) throws IOException {}

        default void version(StoredVersion v) throws IOException {}

        default void meta(byte[] key, byte[] value) throws IOException {}
    }

    /** Writes an image of {@code view}: the versions up to its current revision and all its meta. */
    public static void write(BackendReader view, OutputStream out) throws IOException {
        Bookkeeping.State state = Bookkeeping.read(view);
        CRC32C crc = new CRC32C();
        DataOutputStream data = new DataOutputStream(
                new BufferedOutputStream(new CheckedOutputStream(out, crc), 1 << 16));
        data.writeInt(MAGIC);
        data.writeInt(FORMAT_VERSION);
        data.writeLong(state.currentRevision());
        data.writeLong(state.compactRevision());
        data.writeLong(state.applied().term());
        data.writeLong(state.applied().index());
        long[] counts = {0, 0};
        try {
            view.scanRevisions(0, state.currentRevision(), v -> {
                writeVersion(data, v);
                counts[0]++;
                return true;
            });
            view.scanMeta(KeyValue.EMPTY, (k, v) -> {
                writeMeta(data, k, v);
                counts[1]++;
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        data.writeByte(TAG_END);
        data.writeLong(counts[0]);
        data.writeLong(counts[1]);
        data.flush();
        int checksum = (int) crc.getValue();
        new DataOutputStream(out).writeInt(checksum);
        out.flush();
    }

    /**
     * Reads an image, handing each record to {@code sink}, and fails with an IOException if it is
     * truncated, corrupt or followed by extra bytes. Records reach the sink before the checksum is known:
     * verify with {@link Sink#DISCARD} first when acting on them cannot be undone.
     */
    public static Header read(InputStream in, Sink sink) throws IOException {
        CRC32C crc = new CRC32C();
        DataInputStream data = new DataInputStream(new CheckedInputStream(new BufferedInputStream(in, 1 << 16), crc));
        try {
            if (data.readInt() != MAGIC) {
                throw corrupt("not a MetaStore snapshot image");
            }
            int version = data.readInt();
            if (version != FORMAT_VERSION) {
                throw corrupt("unsupported snapshot format version " + version);
            }
            Header header = new Header(data.readLong(), data.readLong(),
                    new AppliedIndex(data.readLong(), data.readLong()));
            sink.header(header);
            long versions = 0;
            long metas = 0;
            while (true) {
                byte tag = data.readByte();
                if (tag == TAG_VERSION) {
                    sink.version(readVersion(data));
                    versions++;
                } else if (tag == TAG_META) {
                    sink.meta(readBytes(data), readBytes(data));
                    metas++;
                } else if (tag == TAG_END) {
                    break;
                } else {
                    throw corrupt("unknown record tag " + tag);
                }
            }
            if (data.readLong() != versions || data.readLong() != metas) {
                throw corrupt("record counts do not match");
            }
            int expected = (int) crc.getValue();
            if (data.readInt() != expected) {
                throw corrupt("checksum mismatch");
            }
            if (data.read() != -1) {
                throw corrupt("unexpected bytes after the trailer");
            }
            return header;
        } catch (EOFException e) {
            throw corrupt("truncated");
        }
    }

    private static void writeVersion(DataOutputStream data, StoredVersion v) {
        try {
            KeyValue kv = v.kv();
            data.writeByte(TAG_VERSION);
            data.writeLong(v.main());
            data.writeLong(v.sub());
            data.writeByte(v.tombstone() ? 1 : 0);
            writeBytes(data, kv.key());
            writeBytes(data, kv.value());
            data.writeLong(kv.createRevision());
            data.writeLong(kv.version());
            data.writeLong(kv.lease());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeMeta(DataOutputStream data, byte[] key, byte[] value) {
        try {
            data.writeByte(TAG_META);
            writeBytes(data, key);
            writeBytes(data, value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static StoredVersion readVersion(DataInputStream data) throws IOException {
        long main = data.readLong();
        long sub = data.readLong();
        byte tombstone = data.readByte();
        if (tombstone != 0 && tombstone != 1) {
            throw corrupt("bad tombstone flag");
        }
        byte[] key = readBytes(data);
        byte[] value = readBytes(data);
        KeyValue kv = new KeyValue(key, value, data.readLong(), main, data.readLong(), data.readLong());
        return new StoredVersion(kv, sub, tombstone == 1);
    }

    private static void writeBytes(DataOutputStream data, byte[] b) throws IOException {
        data.writeInt(b.length);
        data.write(b);
    }

    private static byte[] readBytes(DataInputStream data) throws IOException {
        int length = data.readInt();
        if (length < 0) {
            throw corrupt("negative length");
        }
        // readNBytes grows its buffer as bytes arrive: a corrupt huge length cannot allocate it up front
        byte[] b = data.readNBytes(length);
        if (b.length != length) {
            throw new EOFException();
        }
        return b;
    }

    private static IOException corrupt(String why) {
        return new IOException("corrupt snapshot image: " + why);
    }
}

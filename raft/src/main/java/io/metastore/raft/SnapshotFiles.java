package io.metastore.raft;

import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.SnapshotRetentionPolicy;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.util.MD5FileUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The snapshot files of the state machine, in Ratis's state machine directory ({@code <storage>/<group>/sm}), one
 * file per snapshot named {@code snapshot.<term>_<index>} (SimpleStateMachineStorage's naming).
 *
 * <p>Each file starts with a header (magic, version, kind, term, index). Kind IMAGE carries a whole store image
 * ({@code MvccStore.writeSnapshot}) after the header: what a non-durable (memory) store is rebuilt from, and what
 * Ratis ships to a follower that lags behind the purged log. Kind MARKER has no payload: a durable store (RocksDB)
 * is its own snapshot, the marker only records the (term, index) up to which the store was flushed. When Ratis
 * asks for the files of a MARKER snapshot in order to ship them ({@link SnapshotInfo#getFiles()}), the marker is
 * first replaced by an IMAGE of the store's current content; that image may be at a later applied index than the
 * file name says, which is harmless because the state machine skips log entries the store already contains.
 */
final class SnapshotFiles implements StateMachineStorage {
    private static final Logger LOG = LoggerFactory.getLogger(SnapshotFiles.class);

    static final Pattern NAME = Pattern.compile("snapshot\\.(\\d+)_(\\d+)");
    private static final int MAGIC = 0x4D535253; // "MSRS"
    private static final byte VERSION = 1;
    static final byte KIND_IMAGE = 1;
    static final byte KIND_MARKER = 2;
    private static final String TMP_SUFFIX = ".tmp";

    /** Writes a whole store image. */
    @FunctionalInterface
    interface ImageWriter {
        void write(OutputStream out) throws IOException;
    }

    /** Source of on-demand images for MARKER snapshots (durable stores); null for memory stores. */
    private final ImageWriter lazyImage;
    private volatile Path dir;
    private volatile Snap latest;

    SnapshotFiles(ImageWriter lazyImage) {
        this.lazyImage = lazyImage;
    }

    /** One snapshot file. */
    final class Snap implements SnapshotInfo {
        final TermIndex termIndex;
        final Path path;
        /** MARKER: the store's own applied index when it was flushed for this snapshot; -1 otherwise. */
        final long storeIndex;
        private volatile byte kind;

        private Snap(TermIndex termIndex, Path path, byte kind, long storeIndex) {
            this.termIndex = termIndex;
            this.path = path;
            this.kind = kind;
            this.storeIndex = storeIndex;
        }

        byte kind() {
            return kind;
        }

        boolean hasImage() {
            return kind == KIND_IMAGE;
        }

        @Override
        public TermIndex getTermIndex() {
            return termIndex;
        }

        /** Called by Ratis's log appender when it installs this snapshot on a follower. */
        @Override
        public List<FileInfo> getFiles() {
            if (kind == KIND_MARKER && lazyImage != null) {
                try {
                    upgradeToImage(this);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot produce a store image for " + this, e);
                }
            }
            return List.of(new FileInfo(path, null)); // null digest: Ratis computes the MD5 while streaming
        }

        @Override
        public String toString() {
            return "snapshot" + termIndex + (kind == KIND_IMAGE ? "(image)" : "(marker)");
        }
    }

    @Override
    public void init(RaftStorage raftStorage) throws IOException {
        Path d = raftStorage.getStorageDir().getStateMachineDir().toPath().toAbsolutePath().normalize();
        Files.createDirectories(d);
        this.dir = d;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(d, "*" + TMP_SUFFIX)) {
            for (Path p : ds) {
                Files.deleteIfExists(p);
            }
        }
        reload();
    }

    @Override
    public void format() {
        // nothing: the directory is created by init
    }

    @Override
    public Snap getLatestSnapshot() {
        return latest;
    }

    Snap latest() {
        return latest;
    }

    Path dir() {
        return dir;
    }

    /** Rescans the directory (after Ratis installed a snapshot from the leader into it). */
    synchronized Snap reload() throws IOException {
        latest = scan().stream().findFirst().orElse(null);
        return latest;
    }

    /** Valid snapshots, newest first. */
    private List<Snap> scan() throws IOException {
        List<Snap> found = new ArrayList<>();
        Path d = dir;
        if (d == null || !Files.isDirectory(d)) {
            return found;
        }
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(d)) {
            for (Path p : ds) {
                Matcher m = NAME.matcher(p.getFileName().toString());
                if (!m.matches()) {
                    continue;
                }
                TermIndex ti = TermIndex.valueOf(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
                try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(p), 64))) {
                    byte kind = readHeader(in, ti, p);
                    long storeIndex = -1;
                    if (kind == KIND_MARKER) {
                        in.readLong(); // store term
                        storeIndex = in.readLong();
                    }
                    found.add(new Snap(ti, p, kind, storeIndex));
                } catch (IOException e) {
                    LOG.warn("Ignoring unreadable snapshot file {}: {}", p, e.toString());
                }
            }
        }
        found.sort(Comparator.comparingLong((Snap s) -> s.termIndex.getIndex())
                .thenComparingLong(s -> s.termIndex.getTerm()).reversed());
        return found;
    }

    private static byte readHeader(DataInputStream in, TermIndex expected, Path p) throws IOException {
        int magic;
        try {
            magic = in.readInt();
        } catch (EOFException e) {
            throw new IOException("empty snapshot file " + p);
        }
        if (magic != MAGIC) {
            throw new IOException("not a MetaStore snapshot file: " + p);
        }
        byte version = in.readByte();
        if (version != VERSION) {
            throw new IOException("unsupported snapshot file version " + version + ": " + p);
        }
        byte kind = in.readByte();
        if (kind != KIND_IMAGE && kind != KIND_MARKER) {
            throw new IOException("unknown snapshot kind " + kind + ": " + p);
        }
        long term = in.readLong();
        long index = in.readLong();
        if (term != expected.getTerm() || index != expected.getIndex()) {
            throw new IOException("snapshot header (" + term + "," + index + ") does not match its name: " + p);
        }
        return kind;
    }

    /** Writes a snapshot carrying a store image (non-durable stores) and makes it the latest. */
    Snap writeImage(TermIndex ti, ImageWriter image) throws IOException {
        Path target = fileFor(ti);
        writeAtomically(target, ti, KIND_IMAGE, image);
        return publish(new Snap(ti, target, KIND_IMAGE, -1));
    }

    /**
     * Writes a snapshot without store image (durable stores, after the store was flushed) and makes it the latest.
     * It records the store's own applied position, which trails {@code ti} when the last entries carried no
     * command (configuration or metadata entries).
     */
    Snap writeMarker(TermIndex ti, long storeTerm, long storeIndex) throws IOException {
        Path target = fileFor(ti);
        writeAtomically(target, ti, KIND_MARKER, out -> {
            DataOutputStream d = new DataOutputStream(out);
            d.writeLong(storeTerm);
            d.writeLong(storeIndex);
            d.flush();
        });
        return publish(new Snap(ti, target, KIND_MARKER, storeIndex));
    }

    private synchronized Snap publish(Snap s) {
        Snap cur = latest;
        if (cur == null || s.termIndex.getIndex() >= cur.termIndex.getIndex()) {
            latest = s;
        }
        return s;
    }

    private Path fileFor(TermIndex ti) {
        Path d = dir;
        if (d == null) {
            throw new IllegalStateException("snapshot storage not initialized");
        }
        return d.resolve("snapshot." + ti.getTerm() + "_" + ti.getIndex());
    }

    /** Replaces a MARKER by an IMAGE of the store's current content (same name), unless already done. */
    private void upgradeToImage(Snap s) throws IOException {
        synchronized (s) {
            if (s.kind == KIND_IMAGE) {
                return;
            }
            LOG.info("Producing a store image for {} to install it on a follower", s);
            // Written outside the directory lock: the apply thread may take newer snapshots meanwhile.
            writeAtomically(s.path, s.termIndex, KIND_IMAGE, lazyImage, true);
            s.kind = KIND_IMAGE;
        }
    }

    private void writeAtomically(Path target, TermIndex ti, byte kind, ImageWriter image) throws IOException {
        writeAtomically(target, ti, kind, image, false);
    }

    private void writeAtomically(Path target, TermIndex ti, byte kind, ImageWriter image, boolean mustExist)
            throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + "." + Thread.currentThread().getId() + TMP_SUFFIX);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            OutputStream raw = new FilterOutputStream(Channels.newOutputStream(ch)) {
                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    out.write(b, off, len);
                }

                @Override
                public void close() {
                    // the channel is closed by try-with-resources after force()
                }
            };
            DataOutputStream out = new DataOutputStream(new BufferedOutputStream(raw, 1 << 16));
            out.writeInt(MAGIC);
            out.writeByte(VERSION);
            out.writeByte(kind);
            out.writeLong(ti.getTerm());
            out.writeLong(ti.getIndex());
            if (image != null) {
                image.write(out);
            }
            out.flush();
            ch.force(true);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        synchronized (this) {
            if (mustExist && !Files.exists(target)) {
                Files.deleteIfExists(tmp);
                throw new NoSuchFileException(target + " was removed while its image was written");
            }
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            Files.deleteIfExists(MD5FileUtil.getDigestFileForFile(target.toFile()).toPath());
        }
        fsyncDir(target.getParent());
    }

    private static void fsyncDir(Path d) {
        try (FileChannel ch = FileChannel.open(d, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException e) {
            // not supported on every platform/file system; the rename itself is atomic
        }
    }

    /** Opens the store image of an IMAGE snapshot, positioned after the header. */
    InputStream openImage(Snap s) throws IOException {
        if (s.kind != KIND_IMAGE) {
            throw new IOException(s + " has no store image");
        }
        InputStream in = new BufferedInputStream(Files.newInputStream(s.path), 1 << 16);
        try {
            byte kind = readHeader(new DataInputStream(in), s.termIndex, s.path);
            if (kind != KIND_IMAGE) {
                throw new IOException(s + " has no store image");
            }
            return in;
        } catch (IOException e) {
            in.close();
            throw e;
        }
    }

    @Override
    public synchronized void cleanupOldSnapshots(SnapshotRetentionPolicy policy) throws IOException {
        int keep = policy == null ? SnapshotRetentionPolicy.DEFAULT_ALL_SNAPSHOTS_RETAINED
                : policy.getNumSnapshotsRetained();
        if (keep <= 0 || dir == null) {
            return;
        }
        List<Snap> all = scan();
        Snap cur = latest;
        for (int i = keep; i < all.size(); i++) {
            Snap old = all.get(i);
            if (cur != null && old.path.equals(cur.path)) {
                continue;
            }
            LOG.debug("Deleting old snapshot {}", old.path);
            Files.deleteIfExists(old.path);
            Files.deleteIfExists(MD5FileUtil.getDigestFileForFile(old.path.toFile()).toPath());
        }
    }
}

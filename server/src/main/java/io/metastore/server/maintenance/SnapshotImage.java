package io.metastore.server.maintenance;

import com.google.common.io.ByteStreams;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * The file `etcdctl snapshot save` receives: the store image, zero padding and the image's length as 8
 * big-endian bytes, together a multiple of 512 bytes, then the SHA-256 of everything before it (etcd's
 * layout, which etcdctl checks by size).
 */
public final class SnapshotImage {
    public static final int CHECKSUM_BYTES = 32;

    /** Writes an image of the store into the given stream. */
    @FunctionalInterface
    public interface ImageWriter {
        void write(OutputStream out) throws IOException;
    }

    private SnapshotImage() {}

    public static void write(ImageWriter writer, Path file) throws IOException {
        MessageDigest sha = sha256();
        try (OutputStream raw = new BufferedOutputStream(Files.newOutputStream(file));
             CountingOutputStream counted = new CountingOutputStream(new DigestOutputStream(raw, sha))) {
            writer.write(counted);
            long image = counted.count;
            long pad = (512 - (image + 8) % 512) % 512;
            counted.write(new byte[(int) pad]);
            counted.write(java.nio.ByteBuffer.allocate(8).putLong(image).array());
            counted.flush();
            raw.write(sha.digest());
        }
    }

    /** Checks the trailing SHA-256 and returns a stream over exactly the store image. */
    public static InputStream openVerified(Path file) throws IOException {
        long size = Files.size(file);
        if (size < 512 + CHECKSUM_BYTES || (size - CHECKSUM_BYTES) % 512 != 0) {
            throw new IOException("not a snapshot file: size " + size + " is not 512*n + 32");
        }
        long body = size - CHECKSUM_BYTES;
        MessageDigest sha = sha256();
        byte[] expected;
        try (InputStream in = new java.io.BufferedInputStream(Files.newInputStream(file))) {
            InputStream bodyIn = ByteStreams.limit(in, body); // not closed: the trailer follows on `in`
            byte[] buf = new byte[64 * 1024];
            for (int n; (n = bodyIn.read(buf)) > 0; ) {
                sha.update(buf, 0, n);
            }
            expected = in.readNBytes(CHECKSUM_BYTES);
        }
        if (!Arrays.equals(expected, sha.digest())) {
            throw new IOException("snapshot file checksum mismatch: the file is corrupt");
        }
        long image;
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file)) {
            java.nio.ByteBuffer length = java.nio.ByteBuffer.allocate(8);
            ch.read(length, body - 8);
            image = length.flip().getLong();
        }
        if (image < 0 || image > body - 8) {
            throw new IOException("not a MetaStore snapshot file (bad image length " + image + ")");
        }
        return ByteStreams.limit(new java.io.BufferedInputStream(Files.newInputStream(file)), image);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final class CountingOutputStream extends java.io.FilterOutputStream {
        long count;

        CountingOutputStream(OutputStream out) {
            super(out);
        }

        @Override
        public void write(int b) throws IOException {
            out.write(b);
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            count += len;
        }

        @Override
        public void close() {
            // the caller closes the underlying stream after appending the checksum
        }
    }
}

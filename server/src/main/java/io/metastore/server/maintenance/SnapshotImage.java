package io.metastore.server.maintenance;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * The file `etcdctl snapshot save` receives: the store image, zero padding to a multiple of 512 bytes, then
 * the SHA-256 of everything before it (etcd's layout, which etcdctl checks by size). The store image is
 * self-delimiting, so the padding is ignored on restore.
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
            long pad = (512 - counted.count % 512) % 512;
            counted.write(new byte[(int) pad]);
            counted.flush();
            raw.write(sha.digest());
        }
    }

    /** Checks the trailing SHA-256 and returns a stream over the image (padding included, trailer excluded). */
    public static InputStream openVerified(Path file) throws IOException {
        long size = Files.size(file);
        if (size < CHECKSUM_BYTES || (size - CHECKSUM_BYTES) % 512 != 0) {
            throw new IOException("not a snapshot file: size " + size + " is not 512*n + 32");
        }
        MessageDigest sha = sha256();
        byte[] expected;
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), sha)) {
            long body = size - CHECKSUM_BYTES;
            byte[] buf = new byte[64 * 1024];
            while (body > 0) {
                int n = in.read(buf, 0, (int) Math.min(buf.length, body));
                if (n < 0) {
                    throw new IOException("truncated snapshot file");
                }
                body -= n;
            }
            ((DigestInputStream) in).on(false);
            expected = in.readNBytes(CHECKSUM_BYTES);
        }
        if (!Arrays.equals(expected, sha.digest())) {
            throw new IOException("snapshot file checksum mismatch: the file is corrupt");
        }
        return new java.io.BufferedInputStream(Files.newInputStream(file));
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

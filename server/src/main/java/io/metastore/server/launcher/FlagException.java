package io.metastore.server.launcher;

/**
 * The command line or an ETCD_* variable is not usable; {@link #getMessage()} is one line meant for the user
 * (etcd prints its equivalent and exits 1).
 *
 * <p>{@link Help} and {@link Version} are not errors: they mean "print the usage text (Help's message) or the
 * version, and exit 0". They are subclasses so a caller that only handles {@code FlagException} still stops cleanly.
 */
public class FlagException extends Exception {
    private static final long serialVersionUID = 1L;

    public FlagException(String message) {
        super(message, null, false, false); // a user mistake, not a bug: no stack trace needed
    }

    /**
     * {@code -h}, {@code --help} (Go's flag package also takes {@code -help} and {@code --h}). The message is the
     * whole {@link EtcdFlags#usage()} text, ready to print.
     */
    public static final class Help extends FlagException {
        private static final long serialVersionUID = 1L;

        public Help() {
            super(EtcdFlags.usage());
        }
    }

    /** {@code --version} (a boolean flag, so {@code --version=false} does not ask for it). */
    public static final class Version extends FlagException {
        private static final long serialVersionUID = 1L;

        public Version() {
            super("version requested");
        }
    }
}

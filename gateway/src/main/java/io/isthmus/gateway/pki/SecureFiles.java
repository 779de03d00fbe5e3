package io.isthmus.gateway.pki;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Writes PKI files so that a secret is never readable by others, not even for a moment (the mode is set when the
 * file is created), and so that a reader never sees half a file (write to a temporary file, then rename).
 */
public final class SecureFiles {
    static final Set<PosixFilePermission> OWNER_READ_WRITE = PosixFilePermissions.fromString("rw-------");
    static final Set<PosixFilePermission> PUBLIC_READ = PosixFilePermissions.fromString("rw-r--r--");
    static final Set<PosixFilePermission> OWNER_ONLY_DIRECTORY = PosixFilePermissions.fromString("rwx------");

    private SecureFiles() {
    }

    static FileAttribute<Set<PosixFilePermission>> mode(boolean secret) {
        return PosixFilePermissions.asFileAttribute(secret ? OWNER_READ_WRITE : PUBLIC_READ);
    }

    /** Creates {@code dir} (owner-only, 0700) if it does not exist yet; an existing directory is left as it is. */
    public static void ensureDirectory(Path dir) {
        if (Files.isDirectory(dir)) {
            return;
        }
        if (Files.exists(dir)) {
            throw new PkiException(dir + " exists and is not a directory");
        }
        try {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(OWNER_ONLY_DIRECTORY));
        } catch (UnsupportedOperationException e) {
            throw noPosix(dir);
        } catch (IOException e) {
            throw new PkiException("cannot create directory " + dir, e);
        }
    }

    /** Writes a new file; fails if {@code target} exists. */
    static void createNew(Path target, byte[] content, boolean secret) {
        try {
            Files.createFile(target, mode(secret));
            Files.write(target, content, StandardOpenOption.TRUNCATE_EXISTING);
        } catch (FileAlreadyExistsException e) {
            throw new PkiException(target + " already exists; refusing to overwrite it");
        } catch (UnsupportedOperationException e) {
            throw noPosix(target);
        } catch (IOException e) {
            throw new PkiException("cannot write " + target, e);
        }
    }

    /** Replaces {@code target} (or creates it) atomically: readers see the old content or the new, never a mix. */
    public static void replace(Path target, byte[] content, boolean secret) {
        Path dir = target.toAbsolutePath().getParent();
        Path temp = null;
        try {
            temp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp", mode(secret));
            Files.write(temp, content, StandardOpenOption.TRUNCATE_EXISTING);
            try {
                Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            temp = null;
        } catch (UnsupportedOperationException e) {
            throw noPosix(target);
        } catch (IOException e) {
            throw new PkiException("cannot write " + target, e);
        } finally {
            if (temp != null) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException ignored) {
                    // best effort: a stray temporary file is harmless
                }
            }
        }
    }

    static byte[] read(Path file, String what) {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new PkiException(what + " " + file + " does not exist");
        } catch (IOException e) {
            throw new PkiException("cannot read " + what + " " + file, e);
        }
    }

    /** Fails if group or others may do anything with {@code file} (like ssh does for private keys). */
    static void requireOwnerOnly(Path file, String what) {
        Set<PosixFilePermission> mode;
        try {
            mode = Files.getPosixFilePermissions(file);
        } catch (UnsupportedOperationException e) {
            throw noPosix(file);
        } catch (IOException e) {
            throw new PkiException("cannot read the permissions of " + what + " " + file, e);
        }
        if (!OWNER_READ_WRITE.containsAll(mode)) {
            throw new PkiException(what + " " + file + " has mode " + PosixFilePermissions.toString(mode)
                    + "; a private key must be readable by its owner only (chmod 600)");
        }
    }

    private static PkiException noPosix(Path path) {
        return new PkiException("the file system of " + path
                + " has no POSIX permissions; refusing to keep private keys where mode 0600 cannot be set");
    }

    /**
     * Runs {@code action} holding {@code lockFile}'s exclusive lock (one change at a time across processes);
     * {@code busy} is the error when another holder in this process has it.
     */
    static <T> T locked(Path lockFile, String busy, java.util.function.Supplier<T> action) {
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(lockFile,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.channels.FileLock lock = channel.lock();
            try {
                return action.get();
            } finally {
                lock.release();
            }
        } catch (java.nio.channels.OverlappingFileLockException e) {
            throw new PkiException(busy);
        } catch (IOException e) {
            throw new PkiException("cannot lock " + lockFile, e);
        }
    }
}

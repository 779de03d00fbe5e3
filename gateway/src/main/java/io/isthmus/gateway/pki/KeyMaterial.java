package io.isthmus.gateway.pki;

import io.isthmus.api.ClusterId;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import java.io.IOException;
import java.math.BigInteger;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * This gateway's certificate and private key, read from PEM files and re-read when they change, so a rotated
 * certificate is used from the next handshake on without a new {@code SSLContext} and without touching open
 * connections. Call {@link #reloadIfChanged()} periodically (every few seconds); {@link #keyManager()} always
 * presents the latest good material.
 * <p>
 * A reload that fails (files half-rotated, key not matching the certificate, a certificate naming another cluster)
 * throws and keeps the current material; the next call tries again.
 */
public final class KeyMaterial {
    /** One loaded pair; the alias the key manager hands out names the generation, so a handshake that chose it
     *  gets that generation's key and chain even if a reload happens in between. */
    private record Generation(long number, X509Certificate[] chain, PrivateKey key, ClusterId cluster, Stamp stamp) {
        String alias() {
            return ALIAS_PREFIX + number;
        }
    }

    /** What "changed" means: modification time, size and file identity (inode) of both files. */
    private record Stamp(FileTime certificateTime, long certificateSize, Object certificateKey,
                         FileTime keyTime, long keySize, Object keyKey) {
    }

    private static final String ALIAS_PREFIX = "isthmus-";

    private final Path certificateFile;
    private final Path privateKeyFile;
    private final Object reloadLock = new Object();
    private volatile Generation current;
    private volatile Generation previous;
    private final X509ExtendedKeyManager keyManager = new LatestKeyManager();

    private KeyMaterial(Path certificateFile, Path privateKeyFile) {
        this.certificateFile = Objects.requireNonNull(certificateFile, "certificateFile");
        this.privateKeyFile = Objects.requireNonNull(privateKeyFile, "privateKeyFile");
        this.current = read(0, null);
    }

    /**
     * Loads {@code certificateFile} (PEM: the gateway certificate, optionally followed by its CA) and
     * {@code privateKeyFile} (PEM, PKCS#8 or traditional EC); fails unless the key belongs to the certificate and the
     * certificate names a cluster ({@link PeerIdentity}).
     */
    public static KeyMaterial load(Path certificateFile, Path privateKeyFile) {
        return new KeyMaterial(certificateFile, privateKeyFile);
    }

    public static KeyMaterial load(KeyFiles files) {
        return load(files.certificate(), files.privateKey());
    }

    public Path certificateFile() {
        return certificateFile;
    }

    public Path privateKeyFile() {
        return privateKeyFile;
    }

    /** The cluster this gateway is, by its certificate; it cannot change on reload. */
    public ClusterId cluster() {
        return current.cluster();
    }

    public X509Certificate certificate() {
        return current.chain()[0];
    }

    public BigInteger serial() {
        return certificate().getSerialNumber();
    }

    /** When the current certificate expires: rotate well before. */
    public Instant notAfter() {
        return certificate().getNotAfter().toInstant();
    }

    /**
     * Re-reads both files if either changed (mtime, size or inode) since the last successful load, and from then on
     * presents the new material. Returns whether it reloaded. Throws {@link PkiException} if the changed files are not
     * a usable pair for this cluster, keeping the current material (so a caller polling during a rotation that has
     * written the key but not yet the certificate just sees one failure, then the reload).
     */
    public boolean reloadIfChanged() {
        synchronized (reloadLock) {
            Generation now = current;
            Stamp stamp = stamp();
            if (stamp.equals(now.stamp())) {
                return false;
            }
            Generation next = read(now.number() + 1, stamp);
            if (!next.cluster().equals(now.cluster())) {
                throw new PkiException("not reloading " + certificateFile + ": it now names cluster " + next.cluster()
                        + " but this gateway is cluster " + now.cluster() + "; keeping certificate serial 0x"
                        + now.chain()[0].getSerialNumber().toString(16));
            }
            previous = now;
            current = next;
            return true;
        }
    }

    /** A signature and the certificate whose key made it (one generation, so they always match). */
    public record Signed(byte[] signature, X509Certificate certificate) {
    }

    /** Signs {@code statement} with the current key ({@link SignedStatements} checks it). */
    public Signed sign(byte[] statement) {
        Generation now = current;
        try {
            java.security.Signature signer = java.security.Signature.getInstance(SignedStatements.algorithm(now.key()));
            signer.initSign(now.key());
            signer.update(statement);
            return new Signed(signer.sign(), now.chain()[0]);
        } catch (java.security.GeneralSecurityException e) {
            throw new PkiException("cannot sign with the key of " + certificateFile + ": " + e.getMessage());
        }
    }

    /** The key manager for TLS: always the latest material. Shared by every context made from this instance. */
    public X509ExtendedKeyManager keyManager() {
        return keyManager;
    }

    @Override
    public String toString() {
        return "KeyMaterial[" + current.cluster() + ", serial 0x" + serial().toString(16) + ", " + certificateFile + "]";
    }

    // ---------------------------------------------------------------------------------------------------------------

    private Stamp stamp() {
        try {
            var cert = Files.readAttributes(certificateFile, BasicFileAttributes.class);
            var key = Files.readAttributes(privateKeyFile, BasicFileAttributes.class);
            return new Stamp(cert.lastModifiedTime(), cert.size(), cert.fileKey(),
                    key.lastModifiedTime(), key.size(), key.fileKey());
        } catch (NoSuchFileException e) {
            throw new PkiException("key material file " + e.getFile() + " does not exist");
        } catch (IOException e) {
            throw new PkiException("cannot read the attributes of " + certificateFile + " / " + privateKeyFile, e);
        }
    }

    /** The stamp is taken before reading, so a change during the read is seen again by the next reload. */
    private Generation read(long number, Stamp knownStamp) {
        Stamp stamp = knownStamp != null ? knownStamp : stamp();
        List<X509Certificate> chain = Pem.certificates("certificate file " + certificateFile,
                SecureFiles.read(certificateFile, "certificate file"));
        PrivateKey key = Pem.privateKey("private key file " + privateKeyFile,
                SecureFiles.read(privateKeyFile, "private key file"));
        X509Certificate leaf = chain.getFirst();
        ClustersetCa.requireMatchingKey(leaf, key, "private key file " + privateKeyFile + " does not belong to certificate "
                + MeshProtocol.describe(leaf) + " in " + certificateFile + " (rotation half done? files from different issues?)");
        ClusterId cluster;
        try {
            cluster = PeerIdentity.of(leaf);
        } catch (CertificateException e) {
            throw new PkiException("certificate file " + certificateFile + " is not a gateway certificate", e);
        }
        return new Generation(number, chain.toArray(X509Certificate[]::new), key, cluster, stamp);
    }

    private Generation generation(String alias) {
        Generation now = current;
        if (now.alias().equals(alias)) {
            return now;
        }
        Generation before = previous;
        return before != null && before.alias().equals(alias) ? before : null;
    }

    /** Delegates to the generation current when the handshake chose its alias. */
    private final class LatestKeyManager extends X509ExtendedKeyManager {
        private String aliasFor(String keyType) {
            Generation now = current;
            return keyType != null && keyType.equalsIgnoreCase(now.key().getAlgorithm()) ? now.alias() : null;
        }

        private String aliasFor(String[] keyTypes) {
            if (keyTypes != null) {
                for (String keyType : keyTypes) {
                    String alias = aliasFor(keyType);
                    if (alias != null) {
                        return alias;
                    }
                }
            }
            return null;
        }

        private String[] aliases(String keyType) {
            String alias = aliasFor(keyType);
            return alias == null ? null : new String[] {alias};
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return aliases(keyType);
        }

        @Override
        public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
            return aliasFor(keyTypes);
        }

        @Override
        public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
            return aliasFor(keyTypes);
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return aliases(keyType);
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return aliasFor(keyType);
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return aliasFor(keyType);
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            Generation generation = generation(alias);
            return generation == null ? null : generation.chain().clone();
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            Generation generation = generation(alias);
            return generation == null ? null : generation.key();
        }
    }
}

package io.isthmus.gateway.ipam;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.isthmus.fastpath.InvalidArgumentException;
import io.isthmus.fastpath.sriov.PhysicalFunction;
import io.isthmus.fastpath.sriov.SriovDiscovery;
import io.isthmus.fastpath.sriov.SysfsException;
import io.isthmus.fastpath.sriov.VirtualFunction;
import io.isthmus.ipam.cni.CniBackend.Attachment;
import io.isthmus.ipam.cni.CniBackend.Vf;
import io.isthmus.ipam.cni.CniBackendError;
import io.isthmus.ipam.cni.CniBackendException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * This node's SR-IOV VFs as pools, one per physical function, handed to CNI attachments that ask for one
 * ({@code ipam.sriov.pf}). VFs are node hardware, so the pools are node-local (not pool entities, which span the
 * cluster): the VFs are whatever sysfs lists now ({@link SriovDiscovery}, read at each reserve), and which
 * attachment holds which VF is kept here and, once committed, in a file of the data directory, so a restarted
 * gateway still knows. Reserve-then-commit like the addresses: a reservation not committed within
 * {@code reservationTimeout} is free again; commit writes the file before it returns.
 */
public final class VfPools {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One VF held by one attachment; {@code reservedUntil} is null once committed. */
    public record Holding(Vf vf, Attachment attachment, Instant reservedUntil) {
        boolean committed() {
            return reservedUntil == null;
        }
    }

    /** The file's form of a committed holding. */
    private record Stored(String pf, int index, String pciAddress, String netdev, String mac, String containerId,
                          String ifname) {
    }

    private record Key(String pf, int index) {
    }

    private final SriovDiscovery discovery;
    private final Path stateFile;
    private final Duration reservationTimeout;
    private final Clock clock;
    private final Map<Key, Holding> holdings = new HashMap<>();

    private VfPools(SriovDiscovery discovery, Path stateFile, Duration reservationTimeout, Clock clock) {
        this.discovery = discovery;
        this.stateFile = stateFile;
        this.reservationTimeout = reservationTimeout;
        this.clock = clock;
    }

    /** Loads the committed holdings from {@code stateFile} (none when it does not exist yet). */
    public static VfPools open(SriovDiscovery discovery, Path stateFile, Duration reservationTimeout, Clock clock)
            throws IOException {
        VfPools pools = new VfPools(discovery, stateFile, reservationTimeout, clock);
        if (Files.exists(stateFile)) {
            List<Stored> stored;
            try {
                stored = JSON.readValue(stateFile.toFile(), new TypeReference<List<Stored>>() { });
            } catch (IOException e) {
                throw new IOException(stateFile + ": not a VF holdings file: " + e.getMessage(), e);
            }
            for (Stored s : stored) {
                Vf vf = new Vf(s.pf(), s.index(), s.pciAddress(), Optional.ofNullable(s.netdev()),
                        Optional.ofNullable(s.mac()));
                pools.holdings.put(new Key(s.pf(), s.index()), new Holding(vf, new Attachment(s.containerId(),
                        s.ifname()), null));
            }
        }
        return pools;
    }

    /**
     * Reserves the lowest free VF of {@code pf} for {@code attachment}; the one it already holds (reserved or
     * committed) when it asks again.
     *
     * @throws CniBackendException BAD_REQUEST (no such PF here, or the attachment holds a VF of another PF),
     *                             POOL_EXHAUSTED (every enabled VF is held), UNAVAILABLE (sysfs unreadable now)
     */
    public synchronized Vf reserve(String pf, Attachment attachment) {
        Instant now = clock.instant();
        holdings.values().removeIf(h -> !h.committed() && !h.reservedUntil().isAfter(now));
        Optional<Holding> held = holdingOf(attachment);
        if (held.isPresent()) {
            Vf vf = held.get().vf();
            if (!vf.pf().equals(pf)) {
                throw new CniBackendException(CniBackendError.BAD_REQUEST, "container " + describe(attachment)
                        + " already holds VF " + vf.index() + " of " + vf.pf() + ", not one of " + pf);
            }
            if (!held.get().committed()) {
                holdings.put(new Key(pf, vf.index()), new Holding(vf, attachment, now.plus(reservationTimeout)));
            }
            return vf;
        }
        PhysicalFunction function = physicalFunction(pf);
        for (VirtualFunction candidate : function.vfs()) {
            Key key = new Key(pf, candidate.index());
            if (!holdings.containsKey(key)) {
                Vf vf = new Vf(pf, candidate.index(), candidate.pciAddress(), candidate.netdev(),
                        candidate.mac().map(Object::toString));
                holdings.put(key, new Holding(vf, attachment, now.plus(reservationTimeout)));
                return vf;
            }
        }
        throw new CniBackendException(CniBackendError.POOL_EXHAUSTED, "the VF pool of " + pf + " is exhausted: all "
                + function.numVfs() + " enabled VFs are held (sriov_numvfs " + function.numVfs() + " of sriov_totalvfs "
                + function.totalVfs() + "; enabling more is writing a larger number to sriov_numvfs)");
    }

    /**
     * Makes the attachment's reservation on {@code pf} a holding and writes the file.
     *
     * @throws CniBackendException RESERVATION_EXPIRED when it holds no VF there any more, UNAVAILABLE when the file
     *                             cannot be written (the holding is then not kept)
     */
    public synchronized Vf commit(String pf, Attachment attachment) {
        Holding held = holdingOf(attachment).filter(h -> h.vf().pf().equals(pf)).orElseThrow(() ->
                new CniBackendException(CniBackendError.RESERVATION_EXPIRED, "container " + describe(attachment)
                        + " holds no VF of " + pf + " any more (its reservation expired): retry the ADD"));
        if (held.committed()) {
            return held.vf();
        }
        Key key = new Key(pf, held.vf().index());
        holdings.put(key, new Holding(held.vf(), attachment, null));
        try {
            write();
        } catch (IOException e) {
            holdings.put(key, held);
            throw new CniBackendException(CniBackendError.UNAVAILABLE, "cannot record VF " + held.vf().index()
                    + " of " + pf + " in " + stateFile + ": " + e.getMessage());
        }
        return held.vf();
    }

    /** Drops an uncommitted reservation of {@code attachment} (its addresses could not be reserved). */
    public synchronized void cancel(Attachment attachment) {
        holdings.values().removeIf(h -> !h.committed() && h.attachment().equals(attachment));
    }

    /** Frees whatever VF {@code attachment} holds; the one freed, if any. */
    public synchronized Optional<Vf> release(Attachment attachment) throws IOException {
        Optional<Holding> held = holdingOf(attachment);
        if (held.isEmpty()) {
            return Optional.empty();
        }
        holdings.remove(new Key(held.get().vf().pf(), held.get().vf().index()));
        if (held.get().committed()) {
            write();
        }
        return Optional.of(held.get().vf());
    }

    /** The VF {@code attachment} holds (committed), if any. */
    public synchronized Optional<Vf> heldBy(Attachment attachment) {
        return holdingOf(attachment).filter(Holding::committed).map(Holding::vf);
    }

    /** Every holding, reserved and committed, by PF and VF index. */
    public synchronized List<Holding> holdings() {
        List<Holding> all = new ArrayList<>(holdings.values());
        all.sort(Comparator.comparing((Holding h) -> h.vf().pf()).thenComparingInt(h -> h.vf().index()));
        return List.copyOf(all);
    }

    private Optional<Holding> holdingOf(Attachment attachment) {
        return holdings.values().stream().filter(h -> h.attachment().equals(attachment)).findFirst();
    }

    private PhysicalFunction physicalFunction(String pf) {
        try {
            return discovery.physicalFunction(pf).orElseThrow(() -> new CniBackendException(
                    CniBackendError.BAD_REQUEST, "ipam.sriov.pf " + pf + " is not an SR-IOV physical function on this"
                    + " node (no " + discovery.netClass().resolve(pf).resolve("device/sriov_totalvfs") + "; "
                    + discovery.capability().reason() + ")"));
        } catch (InvalidArgumentException e) {
            throw new CniBackendException(CniBackendError.BAD_REQUEST, "ipam.sriov." + e.getMessage());
        } catch (SysfsException e) {
            throw new CniBackendException(CniBackendError.UNAVAILABLE, "cannot read the VFs of " + pf + ": "
                    + e.getMessage());
        }
    }

    private void write() throws IOException {
        List<Stored> stored = new ArrayList<>();
        for (Holding h : holdings()) {
            if (h.committed()) {
                stored.add(new Stored(h.vf().pf(), h.vf().index(), h.vf().pciAddress(), h.vf().netdev().orElse(null),
                        h.vf().mac().orElse(null), h.attachment().containerId(), h.attachment().ifname()));
            }
        }
        Files.createDirectories(stateFile.toAbsolutePath().getParent());
        Path next = stateFile.resolveSibling(stateFile.getFileName() + ".next");
        JSON.writerWithDefaultPrettyPrinter().writeValue(next.toFile(), stored);
        Files.move(next, stateFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static String describe(Attachment attachment) {
        return attachment.containerId() + "/" + attachment.ifname();
    }
}

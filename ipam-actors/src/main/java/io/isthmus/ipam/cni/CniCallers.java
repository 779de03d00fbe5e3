package io.isthmus.ipam.cni;

import java.io.IOException;
import java.nio.file.FileSystems;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.util.Optional;

/**
 * Who may call the CNI endpoint, checked on every connection from the kernel's record of the peer (SO_PEERCRED,
 * taken when it connected): uid 0, or a process whose effective group is {@code group}. The kernel record carries
 * the effective uid and gid only, not supplementary groups, so a member of the group must run the plugin with that
 * group as its effective one (the container runtime runs plugins as root, which needs nothing).
 *
 * <p>The socket file's mode (0660, group {@code group} when set) keeps others from connecting at all; this check
 * also holds where the file's permissions do not (a socket passed into a container, a directory made wider).
 */
public record CniCallers(Optional<GroupPrincipal> group) {
    private static final UserPrincipal ROOT;

    static {
        try {
            // "0" resolves to uid 0 even where no passwd entry names root; principals compare by id
            ROOT = FileSystems.getDefault().getUserPrincipalLookupService().lookupPrincipalByName("0");
        } catch (IOException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    public CniCallers {
        java.util.Objects.requireNonNull(group, "group");
    }

    /** Only uid 0: the default. */
    public static CniCallers rootOnly() {
        return new CniCallers(Optional.empty());
    }

    /**
     * uid 0 and processes whose effective group is {@code group} (a name or a numeric gid).
     *
     * @throws IllegalArgumentException naming the group when it is neither a known group nor a number
     */
    public static CniCallers rootOrGroup(String group) {
        UserPrincipalLookupService lookup = FileSystems.getDefault().getUserPrincipalLookupService();
        try {
            return new CniCallers(Optional.of(lookup.lookupPrincipalByGroupName(group)));
        } catch (UserPrincipalNotFoundException e) {
            throw new IllegalArgumentException("CNI caller group '" + group + "' is not a group of this host (see "
                    + "/etc/group) nor a numeric gid");
        } catch (IOException e) {
            throw new IllegalArgumentException("CNI caller group '" + group + "' cannot be looked up: " + e.getMessage());
        }
    }

    /** Whether the peer (user and effective group from SO_PEERCRED) may call. */
    public boolean permits(UserPrincipal user, GroupPrincipal peerGroup) {
        return ROOT.equals(user) || group.isPresent() && group.get().equals(peerGroup);
    }

    /** For log lines and errors: who may call. */
    public String describe() {
        return group.map(g -> "uid 0 or effective group " + g.getName()).orElse("uid 0 only");
    }
}

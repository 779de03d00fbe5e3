package io.isthmus.gateway.admin;

import io.isthmus.api.InvalidFieldException;

import java.util.Locale;

/**
 * What a caller of the admin API may do. Each role includes the ones below it: a viewer reads, an operator also
 * changes what runs (exports, allocations), an admin also changes the clusterset's shape (pools, plan,
 * registrations, revocation).
 */
public enum AdminRole {
    VIEWER, OPERATOR, ADMIN;

    public boolean includes(AdminRole required) {
        return compareTo(required) >= 0;
    }

    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static AdminRole parse(String field, String text) {
        for (AdminRole role : values()) {
            if (role.label().equals(text)) {
                return role;
            }
        }
        throw new InvalidFieldException(field, text, "expected one of viewer, operator, admin");
    }
}

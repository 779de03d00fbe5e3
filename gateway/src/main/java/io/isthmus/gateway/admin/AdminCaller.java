package io.isthmus.gateway.admin;

/** Who made an admin call, as the audit log names them: the user a token was issued to, and its role. */
public record AdminCaller(String user, AdminRole role, String credential) {
}

package io.isthmus.gateway.replicas;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;

/**
 * Leases in a PostgreSQL table: one row per lease name with its owner and an expiry in the database's own time
 * (so the replicas' clocks play no part). Taking a lease succeeds when it is free, expired, or already ours; a
 * holder keeps it by taking it again before it expires. Blocking JDBC: call from a thread that may block.
 */
public final class PostgresLeaseStore implements AutoCloseable {
    static final String TABLE = "isthmus_lease";
    private static final String CREATE = "CREATE TABLE IF NOT EXISTS " + TABLE
            + " (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at TIMESTAMPTZ NOT NULL)";
    private static final String TAKE = "INSERT INTO " + TABLE + " (name, owner, expires_at)"
            + " VALUES (?, ?, clock_timestamp() + make_interval(secs => ?))"
            + " ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at"
            + " WHERE " + TABLE + ".owner = EXCLUDED.owner OR " + TABLE + ".expires_at < clock_timestamp()";
    private static final String GIVE_BACK = "DELETE FROM " + TABLE + " WHERE name = ? AND owner = ?";

    private final String url;
    private final Properties credentials;
    private final Duration operationTimeout;
    private Connection connection;

    public PostgresLeaseStore(String url, String user, String password, Duration operationTimeout) {
        this.url = url;
        this.credentials = new Properties();
        credentials.setProperty("user", user);
        credentials.setProperty("password", password);
        credentials.setProperty("connectTimeout", Long.toString(Math.max(1, operationTimeout.toSeconds())));
        credentials.setProperty("socketTimeout", Long.toString(Math.max(1, operationTimeout.toSeconds())));
        this.operationTimeout = operationTimeout;
    }

    /** Takes (or renews) {@code name} for {@code owner} until {@code ttl} from now; false if another holds it. */
    public synchronized boolean take(String name, String owner, Duration ttl) throws SQLException {
        return withConnection(c -> {
            try (PreparedStatement take = c.prepareStatement(TAKE)) {
                take.setQueryTimeout((int) Math.max(1, operationTimeout.toSeconds()));
                take.setString(1, name);
                take.setString(2, owner);
                take.setDouble(3, ttl.toMillis() / 1000.0);
                return take.executeUpdate() == 1;
            }
        });
    }

    /** Opens the connection and creates the table if that was not done yet, so that a later take is one statement. */
    public synchronized void prepare() throws SQLException {
        withConnection(c -> null);
    }

    /** Gives {@code name} back if {@code owner} holds it; false if it did not. */
    public synchronized boolean giveBack(String name, String owner) throws SQLException {
        return withConnection(c -> {
            try (PreparedStatement giveBack = c.prepareStatement(GIVE_BACK)) {
                giveBack.setQueryTimeout((int) Math.max(1, operationTimeout.toSeconds()));
                giveBack.setString(1, name);
                giveBack.setString(2, owner);
                return giveBack.executeUpdate() == 1;
            }
        });
    }

    private interface Work<T> {
        T on(Connection connection) throws SQLException;
    }

    /** Runs on the open connection (made, with the table, when there is none); a failure drops the connection. */
    private <T> T withConnection(Work<T> work) throws SQLException {
        try {
            if (connection == null) {
                connection = DriverManager.getConnection(url, credentials);
                try (Statement create = connection.createStatement()) {
                    create.execute(CREATE);
                }
            }
            return work.on(connection);
        } catch (SQLException e) {
            close();
            throw e;
        }
    }

    @Override
    public synchronized void close() {
        if (connection != null) {
            try {
                connection.close();
            } catch (SQLException ignored) {
                // going away anyway
            }
            connection = null;
        }
    }
}

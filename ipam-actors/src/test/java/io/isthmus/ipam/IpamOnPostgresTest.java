package io.isthmus.ipam;

import io.isthmus.testing.PostgresServer;

/** The IPAM contract on a real PostgreSQL server (Debian's package, started on loopback for this class). */
class IpamOnPostgresTest extends IpamContract {
    private PostgresServer postgres;

    @Override
    JournalSystems.Journal journal() throws Exception {
        if (postgres == null) {
            postgres = PostgresServer.start();
        }
        return new JournalSystems.Postgres(postgres.url());
    }

    @Override
    void closeJournal() throws Exception {
        if (postgres != null) {
            postgres.close();
        }
    }
}

package io.isthmus.dns;

import java.net.InetSocketAddress;
import java.util.List;

/**
 * The clients every behaviour is checked through: dnsjava's SimpleResolver, the real dig (BIND) and the real kdig
 * (Knot), each over UDP and TCP. UDP clients do not retry over TCP on TC, so truncation stays visible.
 */
enum Client {
    DNSJAVA_UDP(Transport.UDP) {
        @Override
        boolean canAsk(Ask ask) {
            return DnsjavaClient.canAsk(ask, false);
        }

        @Override
        Reply ask(InetSocketAddress server, Ask ask) {
            return DnsjavaClient.ask(server, ask, Over.UDP);
        }
    },
    DNSJAVA_TCP(Transport.TCP) {
        @Override
        Reply ask(InetSocketAddress server, Ask ask) {
            return DnsjavaClient.ask(server, ask, Over.TCP);
        }
    },
    DIG_UDP(Transport.UDP) {
        @Override
        Reply ask(InetSocketAddress server, Ask ask) {
            return Dig.ask(server, ask, Over.UDP);
        }

        @Override
        List<Reply> askAll(InetSocketAddress server, List<Ask> asks) {
            return Dig.askAll(server, asks, Over.UDP);
        }
    },
    DIG_TCP(Transport.TCP) {
        @Override
        Reply ask(InetSocketAddress server, Ask ask) {
            return Dig.ask(server, ask, Over.TCP);
        }

        @Override
        List<Reply> askAll(InetSocketAddress server, List<Ask> asks) {
            return Dig.askAll(server, asks, Over.TCP);
        }
    },
    KDIG_UDP(Transport.UDP) {
        @Override
        boolean canAsk(Ask ask) {
            return Kdig.canAsk(ask);
        }

        @Override
        Reply ask(InetSocketAddress server, Ask ask) {
            return Kdig.ask(server, ask, Over.UDP);
        }

        @Override
        List<Reply> askAll(InetSocketAddress server, List<Ask> asks) {
            return Kdig.askAll(server, asks, Over.UDP);
        }

        @Override
        boolean keepsCase() {
            return false;
        }
    },
    KDIG_TCP(Transport.TCP) {
        @Override
        boolean canAsk(Ask ask) {
            return Kdig.canAsk(ask);
        }

        @Override
        Reply ask(InetSocketAddress server, Ask ask) {
            return Kdig.ask(server, ask, Over.TCP);
        }

        @Override
        List<Reply> askAll(InetSocketAddress server, List<Ask> asks) {
            return Kdig.askAll(server, asks, Over.TCP);
        }

        @Override
        boolean keepsCase() {
            return false;
        }
    };

    final Transport transport;

    Client(Transport transport) {
        this.transport = transport;
    }

    /** Whether this client can put the question at all; where it cannot, another client covers the case. */
    boolean canAsk(Ask ask) {
        return true;
    }

    abstract Reply ask(InetSocketAddress server, Ask ask);

    /**
     * Replies to every question, in order. dig and kdig ask them all from one process (a process start costs more
     * than the exchange); each is still its own exchange over the client's transport.
     */
    List<Reply> askAll(InetSocketAddress server, List<Ask> asks) {
        return asks.stream().map(ask -> ask(server, ask)).toList();
    }

    /** Whether the client sends the question's name as written (kdig lower-cases it). */
    boolean keepsCase() {
        return true;
    }

    /** Fails the test unless both external clients are installed. */
    static void requireExternalClients() {
        Dig.requireDig();
        Kdig.requireKdig();
    }
}

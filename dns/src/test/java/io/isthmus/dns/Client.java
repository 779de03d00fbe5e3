package io.isthmus.dns;

import java.net.InetSocketAddress;

/**
 * The clients every behaviour is checked through: dnsjava's SimpleResolver and the real dig, each over UDP and
 * TCP. UDP clients do not retry over TCP on TC, so truncation stays visible.
 */
enum Client {
    DNSJAVA_UDP(Transport.UDP) {
        @Override
        boolean canAsk(Ask ask) {
            return DnsjavaClient.canAsk(ask, false);
        }

        @Override
        Reply ask(InetSocketAddress server, Ask ask) {
            return DnsjavaClient.ask(server, ask, false);
        }
    },
    DNSJAVA_TCP(Transport.TCP) {
        @Override
        Reply ask(InetSocketAddress server, Ask ask) {
            return DnsjavaClient.ask(server, ask, true);
        }
    },
    DIG_UDP(Transport.UDP) {
        @Override
        Reply ask(InetSocketAddress server, Ask ask) {
            return Dig.ask(server, ask, false);
        }
    },
    DIG_TCP(Transport.TCP) {
        @Override
        Reply ask(InetSocketAddress server, Ask ask) {
            return Dig.ask(server, ask, true);
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
}

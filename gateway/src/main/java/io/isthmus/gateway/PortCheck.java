package io.isthmus.gateway;

import io.isthmus.api.InvalidFieldException;
import io.isthmus.gateway.config.HostPort;

import java.io.IOException;
import java.net.BindException;
import java.net.DatagramSocket;
import java.net.ServerSocket;

/**
 * Checks before start-up that the listen addresses are free, so a taken port fails with the setting's name
 * before anything is started or written, instead of half-way through.
 */
final class PortCheck {
    private PortCheck() {
    }

    static void requireFreeTcp(String field, HostPort listen) {
        if (listen.port() == 0) {
            return;
        }
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(listen.toSocketAddress());
        } catch (BindException e) {
            throw new InvalidFieldException(field, listen, "cannot listen there (TCP): " + reason(e));
        } catch (IOException e) {
            throw new InvalidFieldException(field, listen, "cannot listen there (TCP): " + e.getMessage());
        }
    }

    static void requireFreeUdp(String field, HostPort listen) {
        if (listen.port() == 0) {
            return;
        }
        try (DatagramSocket socket = new DatagramSocket(null)) {
            socket.bind(listen.toSocketAddress());
        } catch (IOException e) {
            throw new InvalidFieldException(field, listen, "cannot listen there (UDP): " + reason(e));
        }
    }

    private static String reason(IOException e) {
        String message = e.getMessage() == null ? "" : e.getMessage();
        return message.toLowerCase().contains("in use") ? "the port is already in use" : message;
    }
}

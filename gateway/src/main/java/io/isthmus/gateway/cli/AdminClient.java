package io.isthmus.gateway.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.isthmus.api.InvalidFieldException;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.Optional;

/** Talks to a running gateway's admin HTTP API, for the CLI commands and the demo. */
final class AdminClient {
    static final String DEFAULT_ADMIN = "http://127.0.0.1:7070";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI base;
    private final Optional<String> token;
    private final boolean clientCertificate;
    private final HttpClient http;

    AdminClient(String adminUrl, Optional<String> token) {
        this(adminUrl, token, AdminCredentials.Tls.NONE);
    }

    /** Over https, {@code tls} must name the clusterset CA; it may name a client certificate and key. */
    AdminClient(String adminUrl, Optional<String> token, AdminCredentials.Tls tls) {
        this.base = parse(adminUrl);
        this.token = token;
        this.clientCertificate = tls.clientCertificate().isPresent();
        var builder = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1) // no h2c upgrade dance with a request body
                .connectTimeout(Duration.ofSeconds(3));
        if (base.getScheme().equals("https")) {
            if (tls.caCertificate().isEmpty()) {
                throw new InvalidFieldException("--cacert", "", "an https admin URL (" + adminUrl + ") needs the "
                        + "clusterset CA certificate (ca.crt), by --cacert or the credentials file's certificate-authority");
            }
            try {
                builder.sslContext(io.isthmus.gateway.pki.AdminTrust.clientContext(tls.caCertificate().get(),
                        tls.effectiveCrl(), tls.clientCertificate(), tls.clientKey()));
            } catch (io.isthmus.gateway.pki.PkiException e) {
                throw new CliException(e.getMessage());
            }
        } else if (tls.clientCertificate().isPresent()) {
            throw new InvalidFieldException("--cert", tls.clientCertificate().get().toString(),
                    "a client certificate needs an https admin URL; " + adminUrl + " is plain http");
        }
        this.http = builder.build();
    }

    /** A client that sends no token: for a gateway with auth off (the demo) and the open probes. */
    static AdminClient anonymous(String adminUrl) {
        return new AdminClient(adminUrl, Optional.empty());
    }

    record Reply(int status, String body) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new CliException("the gateway answered with something that is not JSON: " + body);
            }
        }

        boolean ok() {
            return status / 100 == 2;
        }

        /** The gateway's own error message, or the raw body. */
        String error() {
            try {
                JsonNode node = JSON.readTree(body);
                if (node != null && node.hasNonNull("error")) {
                    return node.get("error").asText();
                }
            } catch (IOException ignored) {
                // not JSON: show it as it came
            }
            return "HTTP " + status + ": " + body.strip();
        }
    }

    private static URI parse(String adminUrl) {
        try {
            URI uri = URI.create(adminUrl.endsWith("/") ? adminUrl : adminUrl + "/");
            if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null
                    || uri.getPort() < 1) {
                throw new IllegalArgumentException();
            }
            return uri;
        } catch (IllegalArgumentException e) {
            throw new InvalidFieldException("--admin", adminUrl, "expected http://HOST:PORT or https://HOST:PORT, e.g. " + DEFAULT_ADMIN);
        }
    }

    URI base() {
        return base;
    }

    Reply get(String path) {
        return send(HttpRequest.newBuilder(base.resolve(path)).GET());
    }

    Reply post(String path, JsonNode body) {
        return post(path, "application/json", body.toString());
    }

    Reply post(String path, String contentType, String body) {
        return send(HttpRequest.newBuilder(base.resolve(path))
                .header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    }

    Reply delete(String path) {
        return send(HttpRequest.newBuilder(base.resolve(path)).DELETE());
    }

    private Reply send(HttpRequest.Builder request) {
        token.ifPresent(t -> request.header("Authorization", "Bearer " + t));
        try {
            HttpResponse<String> response = http.send(request.timeout(Duration.ofSeconds(15)).build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() == 401 && clientCertificate) {
                throw new CliException("the gateway at " + base + " refused the client certificate: "
                        + new Reply(401, response.body()).error());
            }
            if (response.statusCode() == 401) {
                throw new CliException("the gateway at " + base + " wants a token" + (token.isPresent()
                        ? " and did not take the one given (revoked, expired or for another gateway)" : "")
                        + ": give one with --token, $" + AdminCredentials.TOKEN_ENV + " or a credentials file"
                        + " (an admin makes one with `isthmus token create`)");
            }
            return new Reply(response.statusCode(), response.body());
        } catch (ConnectException e) {
            throw new CliException("cannot reach the gateway's admin API at " + base
                    + " (connection refused): is the gateway running? Name another one with --admin URL");
        } catch (HttpTimeoutException e) {
            throw new CliException("the gateway's admin API at " + base + " did not answer in time");
        } catch (IOException e) {
            throw new CliException("cannot talk to the gateway's admin API at " + base + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException("interrupted");
        }
    }
}

package io.isthmus.gateway.cli;

import picocli.CommandLine.Option;

/** {@code --namespace NS --name SVC}: which service a command is about. */
final class ServiceOptions {
    @Option(names = "--namespace", required = true, paramLabel = "NS")
    String namespace;

    @Option(names = "--name", required = true, paramLabel = "SVC")
    String name;
}

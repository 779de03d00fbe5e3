package io.isthmus.tunnel;

/** The data plane's log lines, "tunnel: ...", through System.Logger (the gateway sends it to its own logging). */
final class TunnelLog {
    private final System.Logger logger;

    TunnelLog(Class<?> owner) {
        this.logger = System.getLogger(owner.getName());
    }

    void info(String format, Object... args) {
        logger.log(System.Logger.Level.INFO, () -> "tunnel: " + String.format(format, args));
    }

    void warn(String format, Object... args) {
        logger.log(System.Logger.Level.WARNING, () -> "tunnel: " + String.format(format, args));
    }

    void warn(Throwable failure, String format, Object... args) {
        logger.log(System.Logger.Level.WARNING, () -> "tunnel: " + String.format(format, args), failure);
    }
}

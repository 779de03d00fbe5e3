package io.isthmus.dns;

/** How a query reached the server; decides the size limit of its response. */
public enum Transport {
    UDP, TCP
}

package io.isthmus.dns;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;

/** An {@link UpstreamClient} that records what it is asked and answers as told. */
final class FakeUpstreams implements UpstreamClient {
    private final List<Message> asked = new ArrayList<>();
    private Function<Message, Result> responder;

    FakeUpstreams(Function<Message, Result> responder) {
        this.responder = responder;
    }

    /** Answers every query with {@code rcode} and {@code answer} (owner names as written), plus {@code authority}. */
    static Function<Message, Result> answering(int rcode, List<Record> answer, List<Record> authority) {
        return query -> {
            Message response = new Message(query.getHeader().getID());
            response.getHeader().setFlag(Flags.QR);
            response.getHeader().setFlag(Flags.RA);
            response.getHeader().setRcode(rcode);
            response.addRecord(query.getQuestion(), Section.QUESTION);
            answer.forEach(r -> response.addRecord(r, Section.ANSWER));
            authority.forEach(r -> response.addRecord(r, Section.AUTHORITY));
            return new Answered(response);
        };
    }

    void answerWith(Function<Message, Result> responder) {
        this.responder = responder;
    }

    @Override
    public synchronized Result ask(Message query) {
        asked.add(query);
        return responder.apply(query);
    }

    synchronized List<Message> asked() {
        return List.copyOf(asked);
    }
}

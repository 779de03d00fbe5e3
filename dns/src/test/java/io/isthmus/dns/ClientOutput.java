package io.isthmus.dns;

import static org.junit.jupiter.api.Assertions.fail;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the presentation output of dig or kdig (the two differ only in a few header lines and in how they mark
 * the question), so both clients' answers are checked by the same code.
 *
 * @param questionPrefix how many characters stand before a question line's name (";" for dig, ";; " for kdig)
 */
record ClientOutput(String tool, Pattern headerLine, Pattern flagsLine, Pattern ednsLine, int questionPrefix) {
    Reply parse(String text, List<String> command) {
        String rcode = null;
        Set<String> flags = new LinkedHashSet<>();
        Reply.Opt opt = null;
        List<Reply.Question> question = new ArrayList<>();
        List<Reply.Rr> answer = new ArrayList<>();
        List<Reply.Rr> authority = new ArrayList<>();
        List<Reply.Rr> additional = new ArrayList<>();
        List<Reply.Rr> section = null;
        boolean inQuestion = false;
        for (String line : text.split("\n")) {
            Matcher m;
            if ((m = headerLine.matcher(line)).find()) {
                rcode = m.group(2);
            } else if ((m = flagsLine.matcher(line)).find()) {
                flags.addAll(Arrays.asList(m.group(1).trim().split("\\s+")));
            } else if ((m = ednsLine.matcher(line)).find()) {
                opt = new Reply.Opt(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)));
            } else if (line.startsWith(";; QUESTION SECTION:")) {
                inQuestion = true;
            } else if (line.startsWith(";; ANSWER SECTION:")) {
                section = answer;
            } else if (line.startsWith(";; AUTHORITY SECTION:")) {
                section = authority;
            } else if (line.startsWith(";; ADDITIONAL SECTION:")) {
                section = additional;
            } else if (line.isBlank()) {
                inQuestion = false;
                section = null;
            } else if (inQuestion) {
                String[] f = line.substring(questionPrefix).trim().split("\\s+");
                question.add(new Reply.Question(f[0], f[2].toUpperCase(Locale.ROOT)));
            } else if (section != null && !line.startsWith(";")) {
                String[] f = line.trim().split("\\s+", 5);
                section.add(new Reply.Rr(f[0], Long.parseLong(f[1]), f[3], f.length > 4 ? f[4] : ""));
            }
        }
        if (rcode == null) {
            fail(tool + " printed no header: " + command + "\n" + text);
        }
        return new Reply(rcode, flags, question, answer, authority, additional, opt);
    }
}

package asymbp.data;

import asymbp.cli.Main;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Runs several {@code asymbp} command lines, separated by "::", in this JVM one after the other (one
 * JVM start for many cases); prints per case a line "EXIT code\tstderr" with the newlines of stderr
 * escaped. An Error such as OutOfMemoryError is not caught: it ends the JVM with its stack trace.
 */
public final class ForkedTrain {
    private ForkedTrain() {}

    public static void main(String[] args) {
        List<String> one = new ArrayList<>();
        for (String a : Arrays.copyOf(args, args.length + 1)) {
            if (a != null && !a.equals("::")) {
                one.add(a);
                continue;
            }
            StringWriter out = new StringWriter(), err = new StringWriter();
            CommandLine cl = Main.commandLine();
            cl.setOut(new PrintWriter(out, true));
            cl.setErr(new PrintWriter(err, true));
            int code = cl.execute(one.toArray(new String[0]));
            System.out.println("EXIT " + code + "\t" + err.toString().strip().replace("\n", "\\n"));
            System.out.flush();
            one.clear();
        }
    }
}

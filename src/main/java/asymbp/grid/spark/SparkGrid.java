package asymbp.grid.spark;

import asymbp.cli.Main;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The class spark-submit starts: {@code spark-submit --class asymbp.grid.spark.SparkGrid target/asymbp.jar
 * grid run FILE --out DIR}. The same command line as {@code asymbp grid run}, with {@code --spark} implied.
 */
public final class SparkGrid {
    private SparkGrid() {}

    public static void main(String[] args) {
        System.exit(Main.commandLine().execute(withSpark(args)));
    }

    /** {@code args} with {@code --spark} added to a {@code grid run} that lacks it. */
    static String[] withSpark(String[] args) {
        List<String> a = new ArrayList<>(Arrays.asList(args));
        if (a.size() >= 2 && a.get(0).equals("grid") && a.get(1).equals("run") && !a.contains("--spark"))
            a.add(2, "--spark");
        return a.toArray(new String[0]);
    }
}

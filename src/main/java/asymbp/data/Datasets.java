package asymbp.data;

import java.io.InputStream;
import java.lang.ref.SoftReference;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Loads datasets by spec. See datasets/README.md for the formats, sources and licences.
 *
 * <ul>
 *   <li>{@code mnist}: embedded in the jar (classpath {@code datasets/mnist/*.gz}), SHA-256 checked; a jar
 *       without it (the GPU package) reads {@code -Dasymbp.mnist.dir} or {@code datasets/mnist} under the working directory.
 *   <li>{@code fashion-mnist}, {@code digits}: from the data directory, filled by {@code datasets/fetch.sh}.
 *   <li>{@code cifar10}, {@code cifar100}, {@code svhn}, {@code stl10}, {@code caltech101}, {@code caltech256},
 *       {@code icubworld}, {@code fmd}, {@code indoor67}, {@code lfw}, {@code pubfig}, {@code facescrub}:
 *       the paper's datasets, from the data directory (see {@code datasets/fetch-paper-datasets.sh}).
 *   <li>{@code idx:DIR}, {@code cifar10:DIR}, {@code cifar100:DIR}, {@code svhn:DIR}, {@code stl10:DIR},
 *       {@code folder:PATH}: the same formats from any directory.
 * </ul>
 *
 * The data directory is {@code $ASYMBP_DATA} if set; otherwise {@code datasets/cache} under the working
 * directory, then {@code ~/.asymbp/data} (the first that holds the dataset).
 */
public final class Datasets {
    private Datasets() {}

    /** Loader kinds that take a path ("kind:PATH"). */
    public static final List<String> KINDS = List.of("idx", "cifar10", "cifar100", "svhn", "stl10", "folder");

    /** Named datasets. */
    public static final List<String> NAMES = List.of("mnist", "fashion-mnist", "digits", "cifar10", "cifar100", "svhn",
            "stl10", "caltech101", "caltech256", "icubworld", "fmd", "indoor67", "lfw", "pubfig", "facescrub");

    /** Paper datasets: name → (loader kind, directory under the data directory). */
    private static final Map<String, String[]> ALIASES = Map.ofEntries(
            Map.entry("cifar10", new String[] {"cifar10", "cifar10"}),
            Map.entry("cifar100", new String[] {"cifar100", "cifar100"}),
            Map.entry("svhn", new String[] {"svhn", "svhn"}),
            Map.entry("stl10", new String[] {"stl10", "stl10"}),
            Map.entry("caltech101", new String[] {"folder", "caltech101"}),
            Map.entry("caltech256", new String[] {"folder", "caltech256"}),
            Map.entry("icubworld", new String[] {"folder", "icubworld"}),
            Map.entry("fmd", new String[] {"folder", "fmd"}),
            Map.entry("indoor67", new String[] {"folder", "indoor67"}),
            Map.entry("lfw", new String[] {"folder", "lfw"}),
            Map.entry("pubfig", new String[] {"folder", "pubfig"}),
            Map.entry("facescrub", new String[] {"folder", "facescrub"}));

    static final String MNIST_RESOURCE_DIR = "datasets/mnist/";

    /** Loads the dataset a spec names; every failure is a {@link DatasetException} naming the file. */
    public static Dataset load(String specText) {
        Spec spec = Spec.parse(specText);
        // Options are parsed (and unknown ones rejected) before any file is read.
        Supplier<Dataset> loader = spec.path == null ? named(spec) : kind(spec);
        spec.checkAllUsed();
        return loader.get();
    }

    private static Supplier<Dataset> named(Spec spec) {
        switch (spec.kind) {
            case "mnist":
                return Datasets::loadMnist;
            case "fashion-mnist":
                return () -> {
                    Path dir = findInDataDir("fashion-mnist", "fashion-mnist");
                    return Idx.load("fashion-mnist", i -> ByteSource.open(idxFile(dir, Idx.ROLES[i]), true),
                            Checksums.FASHION_MNIST, Checksums.SOURCE, 10, 28, 28);
                };
            case "digits":
                return () -> Digits.load(findInDataDir("digits", "digits").resolve(Digits.FILE), true);
            default: {
                String[] alias = ALIASES.get(spec.kind);
                if (alias == null)
                    throw new DatasetException("dataset spec '" + spec.text + "': unknown dataset '" + spec.kind
                            + "'; known names: " + String.join(", ", NAMES) + "; or kind:PATH with kind one of "
                            + String.join(", ", KINDS));
                // Resolve the directory lazily: a missing dataset is reported after option errors.
                Spec target = spec.redirect(alias[0], "");
                Supplier<Dataset> inner = kind(target, () -> findInDataDir(spec.kind, alias[1]));
                spec.markUsed(target);
                return inner;
            }
        }
    }

    private static Supplier<Dataset> kind(Spec spec) {
        return kind(spec, () -> expandHome(spec.path));
    }

    /** "~/x" → the user's home; the shell does not expand it inside a spec like folder:~/x. */
    static Path expandHome(String path) {
        if (path.equals("~") || path.startsWith("~/"))
            return Path.of(System.getProperty("user.home") + path.substring(1));
        return Path.of(path);
    }

    private static Supplier<Dataset> kind(Spec spec, Supplier<Path> dir) {
        switch (spec.kind) {
            case "idx": {
                int classes = spec.integer("classes", 0, 1, 256);
                return () -> {
                    Path path = dir.get();
                    return Idx.load(name(spec), i -> ByteSource.open(idxFile(path, Idx.ROLES[i]), false), null, null,
                            classes, 0, 0);
                };
            }
            case "cifar10":
                return () -> Cifar.load10(dir.get(), name(spec));
            case "cifar100": {
                boolean coarse = spec.string("labels", "fine", "fine", "coarse").equals("coarse");
                return () -> Cifar.load100(dir.get(), name(spec), coarse);
            }
            case "svhn": {
                boolean extra = spec.integer("extra", 0, 0, 1) == 1;
                return () -> Svhn.load(dir.get(), name(spec), extra);
            }
            case "stl10":
                return () -> Stl10.load(dir.get(), name(spec));
            case "folder": {
                ImageFolder.Options o = ImageFolder.options(spec);
                return () -> ImageFolder.load(dir.get(), name(spec), o);
            }
            default:
                throw new DatasetException("dataset spec '" + spec.text + "': unknown loader '" + spec.kind
                        + ":'; known: " + String.join(", ", KINDS));
        }
    }

    /** The dataset's name in results: the spec as given. */
    private static String name(Spec spec) {
        return spec.text;
    }

    /** Verified MNIST kept between loads (tests and grids load it often); callers get their own arrays. */
    private static SoftReference<Dataset> mnistCache = new SoftReference<>(null);

    /**
     * The embedded MNIST: from the classpath; else (the GPU package's jar leaves it out) from
     * {@code -Dasymbp.mnist.dir=DIR}, or datasets/mnist/ under the working directory. SHA-256 checked either way.
     */
    private static Dataset loadMnist() {
        Dataset d;
        synchronized (Datasets.class) {
            d = mnistCache.get();
            if (d == null) {
                d = loadMnist(Datasets.class.getClassLoader(), System.getProperty("asymbp.mnist.dir"), Path.of("datasets", "mnist"));
                mnistCache = new SoftReference<>(d);
            }
        }
        return new Dataset(d.name(), d.channels(), d.height(), d.width(), d.classes(), d.trainImages().clone(),
                d.trainLabels().clone(), d.testImages().clone(), d.testLabels().clone());
    }

    /** MNIST from {@code resources} if it has it, else from {@code dirProperty} (when set) or {@code cwdDir}; uncached. */
    static Dataset loadMnist(ClassLoader resources, String dirProperty, Path cwdDir) {
        boolean inJar = resources.getResource(MNIST_RESOURCE_DIR + Idx.ROLES[0] + ".gz") != null;
        Path dir = dirProperty != null && !dirProperty.isBlank() ? expandHome(dirProperty) : cwdDir;
        if (!inJar && !Files.isRegularFile(dir.resolve(Idx.ROLES[0] + ".gz")))
            throw new DatasetException(dir.toAbsolutePath().resolve(Idx.ROLES[0] + ".gz") + ": MNIST not found (not in the jar, "
                    + (dirProperty != null && !dirProperty.isBlank() ? "nor in -Dasymbp.mnist.dir" : "nor in datasets/mnist under the working directory")
                    + "); run from the repository root, set -Dasymbp.mnist.dir=DIR, or build with 'mvn package'");
        return Idx.load("mnist", i -> {
            String file = Idx.ROLES[i] + ".gz";
            if (inJar) {
                InputStream in = resources.getResourceAsStream(MNIST_RESOURCE_DIR + file);
                if (in == null) throw new DatasetException("classpath:" + MNIST_RESOURCE_DIR + file + ": not found in the jar");
                return ByteSource.of("classpath:" + MNIST_RESOURCE_DIR + file, in, true, true);
            }
            Path p = dir.resolve(file);
            if (!Files.isRegularFile(p)) throw new DatasetException(p.toAbsolutePath() + ": file not found (MNIST's four .gz files)");
            return ByteSource.open(p, true);
        }, Checksums.MNIST, Checksums.SOURCE, 10, 28, 28);
    }

    /**
     * Finds an IDX file in a directory: the standard name ("train-images-idx3-ubyte") or the dotted
     * variant some mirrors use ("train-images.idx3-ubyte"), each plain or with ".gz".
     */
    static Path idxFile(Path dir, String role) {
        if (!Files.isDirectory(dir))
            throw new DatasetException(dir + ": " + (Files.exists(dir) ? "not a directory" : "directory not found")
                    + " (expected the four IDX files " + String.join(", ", Idx.ROLES) + ")");
        String dotted = role.replaceFirst("-(idx\\d)", ".$1");
        for (String base : new String[] {role, dotted})
            for (String suffix : new String[] {"", ".gz"}) {
                Path p = dir.resolve(base + suffix);
                if (Files.isRegularFile(p)) return p;
            }
        throw new DatasetException(dir.resolve(role) + ": file not found (also looked for " + role + ".gz, " + dotted
                + " and " + dotted + ".gz)");
    }

    /** Candidate data directories, in search order. */
    public static List<Path> dataDirs() {
        return dataDirs(System.getenv("ASYMBP_DATA"), Path.of("datasets", "cache"),
                Path.of(System.getProperty("user.home"), ".asymbp", "data"));
    }

    static List<Path> dataDirs(String env, Path cwdCache, Path home) {
        if (env != null && !env.isBlank()) return List.of(Path.of(env));
        return List.of(cwdCache, home);
    }

    /** The directory holding a named dataset, or an error telling how to fetch it. */
    static Path findInDataDir(String name, String sub) {
        List<Path> dirs = dataDirs();
        List<String> tried = new ArrayList<>();
        for (Path d : dirs) {
            Path p = d.resolve(sub);
            if (Files.isDirectory(p)) return p;
            tried.add(p.toAbsolutePath().toString());
        }
        String fetch = name.equals("fashion-mnist") || name.equals("digits") ? "datasets/fetch.sh " + name
                : "datasets/fetch-paper-datasets.sh " + name;
        throw new DatasetException(tried.get(0) + ": dataset '" + name + "' not found (looked in "
                + String.join(", ", tried) + "); run " + fetch + " (set ASYMBP_DATA to use another data directory)");
    }
}

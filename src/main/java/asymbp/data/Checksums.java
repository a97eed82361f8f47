package asymbp.data;

/**
 * Published SHA-256 values of the real files (datasets/README.md), over the decompressed bytes
 * because Debian recompressed Fashion-MNIST. Order: train images, train labels, test images, test labels.
 */
final class Checksums {
    private Checksums() {}

    static final String SOURCE = "datasets/README.md";

    static final String[] MNIST = {
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"};

    static final String[] FASHION_MNIST = {
            "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
            "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
            "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
            "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"};

    /**
     * scikit-learn's digits.csv.gz, decompressed. (The .gz file itself, as Debian's python3-sklearn
     * 1.2.1 ships it, is 46abec6b12486ad9e51943373abcf22bbea1b5a51a1619b361570d8893f1464a; fetch.sh checks that.)
     */
    static final String DIGITS_CSV = "6ebb3d2fee246a4e99363262ddf8a00a3c41bee6014c373ed9d9216ba7f651b8";
}

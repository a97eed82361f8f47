package asymbp.cuda;

import asymbp.backend.FeedbackMode;
import asymbp.backend.Kernel;
import asymbp.rng.Philox;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The prebuilt CUDA artifacts, checked without a GPU or nvcc: one module per op file present on the
 * classpath (what the jar packages) for every architecture, every kernel of {@link Kernel} in its op
 * file's module, no module of a source that is gone, and they are not
 * stale (kernels/ptx/SOURCES.sha256, written by kernels/build-cuda.sh, matches the sources today).
 */
class CudaArtifactsTest {

    private static final Path KERNELS = Path.of("kernels");

    @Test
    void everyKernelIsInItsModulesPtx() {
        for (String module : Kernel.modules())
            for (int arch : KernelArtifacts.PTX_ARCHS) {
                String path = KernelArtifacts.ROOT + module + ".compute_" + arch + ".ptx";
                assertTrue(KernelArtifacts.exists(path), path + " missing from the classpath");
                String ptx = new String(KernelArtifacts.read(path), StandardCharsets.US_ASCII);
                assertTrue(ptx.contains("\n.target sm_" + arch + "\n"), path + " does not target sm_" + arch);
                for (Kernel k : Kernel.of(module))
                    assertTrue(ptx.contains(".entry " + k.symbol + "("), path + " lacks kernel " + k);
            }
    }

    @Test
    void everyKernelIsInItsModulesCubin() {
        for (String module : Kernel.modules())
            for (int arch : KernelArtifacts.CUBIN_ARCHS) {
                String path = KernelArtifacts.cubinFor(module, arch / 10, 0);
                assertNotNull(path, "no cubin of " + module + " for sm_" + arch);
                byte[] elf = KernelArtifacts.read(path);
                assertArrayEquals(new byte[] {0x7f, 'E', 'L', 'F'}, java.util.Arrays.copyOf(elf, 4), path + " is not an ELF cubin");
                String text = new String(elf, StandardCharsets.ISO_8859_1);
                for (Kernel k : Kernel.of(module))
                    assertTrue(text.contains(".text." + k.symbol + "\0"), path + " lacks kernel " + k);
            }
    }

    /** One module per op file and nothing else: no artifact of a source that is gone (the monolith). */
    @Test
    void artifactsAreExactlyTheOpModules() throws IOException {
        java.util.Set<String> built = new java.util.TreeSet<>();
        try (Stream<Path> files = Files.walk(KERNELS.resolve("ptx"))) {
            files.filter(Files::isRegularFile).map(p -> KERNELS.resolve("ptx").relativize(p).toString().replace('\\', '/'))
                    .filter(n -> n.endsWith(".ptx") || n.endsWith(".cubin"))
                    .forEach(n -> built.add(n.substring(0, n.indexOf('.'))));
        }
        assertEquals(new java.util.TreeSet<>(Kernel.modules()), built, "modules in kernels/ptx/ vs the op files the backend loads");
        for (String m : Kernel.modules()) assertTrue(Files.exists(KERNELS.resolve(m + ".cu")), "kernels/" + m + ".cu missing");
    }

    @Test
    void moduleSelectionFollowsComputeCapability() {
        String m = "linear_forward";
        assertTrue(KernelArtifacts.cubinFor(m, 8, 0).endsWith("linear_forward.sm_80.cubin"));
        assertTrue(KernelArtifacts.cubinFor(m, 8, 9).endsWith(".sm_80.cubin"), "sm_80 cubins run on 8.x");
        assertTrue(KernelArtifacts.cubinFor(m, 9, 0).endsWith(".sm_90.cubin"));
        assertEquals(null, KernelArtifacts.cubinFor(m, 10, 0), "no cubin for Blackwell: it JITs the PTX");
        assertTrue(KernelArtifacts.ptxFor(m, 10, 0).endsWith(".compute_90.ptx"));
        assertTrue(KernelArtifacts.ptxFor(m, 8, 6).endsWith(".compute_80.ptx"));
        assertEquals(null, KernelArtifacts.ptxFor(m, 7, 5), "sm_75 is below the prebuilt targets");
        assertEquals(null, KernelArtifacts.cubinFor("no_such_op", 9, 0));
    }

    @Test
    void artifactsAreNotStale() throws IOException {
        Path manifest = KERNELS.resolve("ptx/SOURCES.sha256");
        assertTrue(Files.exists(manifest), "missing " + manifest + " (run kernels/build-cuda.sh)");
        Map<String, String> listed = new TreeMap<>();
        for (String line : Files.readAllLines(manifest)) {
            if (line.startsWith("#") || line.isBlank()) continue;
            String[] f = line.split("\\s+", 2);
            listed.put(f[1].trim(), f[0]);
        }
        for (Map.Entry<String, String> e : listed.entrySet()) {
            Path p = KERNELS.resolve(e.getKey());
            assertTrue(Files.exists(p), "kernel source " + p + " listed in " + manifest + " no longer exists; rebuild");
            assertEquals(e.getValue(), sha256(Files.readAllBytes(p)),
                    p + " changed since kernels/ptx/ was built: run kernels/build-cuda.sh and commit kernels/ptx/");
        }
        List<String> sources;
        try (Stream<Path> top = Files.list(KERNELS);
             Stream<Path> cuda = Files.isDirectory(KERNELS.resolve("cuda")) ? Files.list(KERNELS.resolve("cuda")) : Stream.empty()) {
            sources = Stream.concat(top, cuda).filter(p -> p.toString().endsWith(".cu"))
                    .map(p -> KERNELS.relativize(p).toString().replace('\\', '/')).sorted().toList();
        }
        for (String s : sources)
            assertTrue(listed.containsKey(s), "kernels/" + s + " has no prebuilt artifacts: run kernels/build-cuda.sh");
        // The classpath (what the jar packages) holds the same bytes as kernels/ptx/.
        for (String s : sources)
            for (int arch : KernelArtifacts.PTX_ARCHS) {
                String rel = "ptx/" + s.replaceAll("\\.cu$", "") + ".compute_" + arch + ".ptx";
                assertArrayEquals(Files.readAllBytes(KERNELS.resolve(rel)), KernelArtifacts.read("kernels/" + rel),
                        rel + " on the classpath differs from kernels/" + rel);
            }
    }

    @Test
    void kernelConstantsMatchJava() throws IOException {
        String h = Files.readString(KERNELS.resolve("common/philox.h"));
        Matcher m = Pattern.compile("#define FB_(\\w+) (\\d+)").matcher(h);
        int seen = 0;
        while (m.find()) {
            if (m.group(1).startsWith("FLAG_")) continue;   // the fb_flags bits, checked below
            assertEquals(FeedbackMode.valueOf(m.group(1)).ordinal(), Integer.parseInt(m.group(2)), "FB_" + m.group(1));
            seen++;
        }
        assertEquals(FeedbackMode.kernelModes().length, seen, "every FeedbackMode a kernel sees has a FB_ constant");
        assertTrue(h.contains("#define FB_FLAG_HALF_NORMAL " + asymbp.backend.Feedback.FLAG_HALF_NORMAL + "\n"), "FB_FLAG_HALF_NORMAL");
        assertTrue(h.contains("#define FB_FLAG_UNIFORM_B " + asymbp.backend.Feedback.FLAG_UNIFORM_B + "\n"), "FB_FLAG_UNIFORM_B");
        Matcher s = Pattern.compile("#define PHILOX_NORMAL_SCALE (\\S+)f").matcher(h);
        assertTrue(s.find());
        assertEquals(Float.floatToIntBits(Philox.NORMAL_SCALE), Float.floatToIntBits(Float.parseFloat(s.group(1))));
    }

    private static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}

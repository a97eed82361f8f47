package asymbp.train;

import asymbp.model.FbScale;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link TrainConfig#validate()}'s feedback rules: --fb-scale values that only the constructor can carry
 * (a scale of 0, NaN or ∞ that is not xavier), --fa-sigma with xavier for each mode, the feedback
 * spec's own refusals as BadValue, and the constructor's default scale.
 */
class TrainConfigFeedbackMutationTest {

    private static final TrainConfig D = TrainConfig.defaults();

    /** {@code D} with fb_scale set directly, past FbScale's parser. */
    private static TrainConfig withScale(FbScale s) {
        return new TrainConfig(D.dataset(), D.model(), D.feedback(), D.bn(), D.update(), D.epochs(), D.batch(), D.lr(),
                D.momentum(), D.weightDecay(), D.lrSteps(), D.lrFactor(), D.seed(), D.backend(), D.device(), D.limit(),
                D.init(), D.weightInit(), s, D.magnitude(), D.faSigma(), D.lastLayerBp(), D.divergeBound(), D.evalBatch(),
                D.quiet(), D.resume());
    }

    private static TrainConfig.BadValue refused(TrainConfig c) {
        return assertThrows(TrainConfig.BadValue.class, c::validate);
    }

    @Test
    void theConstructorDefaultsTheScaleToOneAndKeepsAGivenOne() {
        assertEquals(FbScale.ONE, withScale(null).fbScale());
        assertEquals(FbScale.XAVIER, withScale(FbScale.XAVIER).fbScale());
        assertEquals(FbScale.of(0.25), withScale(FbScale.of(0.25)).fbScale());
        assertEquals(FbScale.XAVIER, D.withFbScale(FbScale.XAVIER).fbScale());
        assertEquals(FbScale.of(2), D.withFbScale(2).fbScale());
    }

    @Test
    void aScaleThatIsNotXavierMustBePositiveAndFinite() {
        TrainConfig ok = withScale(FbScale.of(Double.MIN_VALUE));
        assertSame(ok, ok.validate());
        TrainConfig x = withScale(FbScale.XAVIER);
        assertSame(x, x.validate(), "xavier's value is NaN, and it is not checked");
        for (double bad : new double[] {0.0, -0.0, -1e-9, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
            TrainConfig.BadValue e = refused(withScale(FbScale.of(bad)));
            assertEquals("--fb-scale " + bad + ": must be a positive number or xavier", e.getMessage());
            assertSame(TrainConfig.Option.FB_SCALE, e.option);
        }
    }

    @Test
    void faSigmaWithXavierIsRefusedForFaAndDfaOnly() {
        String why = "cannot be combined with --fb-scale xavier (B is then U(−a_l, a_l), a_l Xavier's bound)";
        for (String fb : List.of("bp", "usf", "brsf", "frsf", "fa", "psf:0.5", "dfa", "FA", " dfa ")) {
            boolean random = fb.trim().equalsIgnoreCase("fa") || fb.trim().equalsIgnoreCase("dfa");
            for (FbScale s : List.of(FbScale.ONE, FbScale.XAVIER, FbScale.of(0.5))) {
                for (double sigma : new double[] {0.0, Double.MIN_VALUE, 0.5}) {
                    TrainConfig c = D.withFeedback(fb).withFbScale(s).withFaSigma(sigma);
                    String what = fb + " / " + s + " / " + sigma;
                    if (random && s.xavier() && sigma > 0) {
                        TrainConfig.BadValue e = refused(c);
                        assertEquals("--fa-sigma " + sigma + ": " + why, e.getMessage(), what);
                        assertSame(TrainConfig.Option.FA_SIGMA, e.option, what);
                    } else {
                        assertSame(c, c.validate(), what);
                    }
                }
            }
        }
    }

    @Test
    void theFeedbackSpecsRefusalsAreBadValuesNamingTheFlag() {
        String[][] cases = {
                {"psf:2", "p must be in [0,1]"},
                {"psf:-0.5", "p must be in [0,1]"},
                {"psf", "psf needs its share p, as psf:0.5"},
                {"psf:half", "p is not a number"},
                {"sf", "unknown mode (expected bp, usf, brsf, frsf, fa, dfa or psf:p with p in [0,1])"},
        };
        for (String[] k : cases) {
            TrainConfig.BadValue e = refused(D.withFeedback(k[0]));
            assertEquals("--feedback " + k[0] + ": " + k[1], e.getMessage());
            assertSame(TrainConfig.Option.FEEDBACK, e.option);
            assertEquals(k[0], e.value);
            assertEquals(k[1], e.why);
        }
        for (String fb : List.of("psf:0", "psf:1", "psf:0.25")) {
            TrainConfig c = D.withFeedback(fb);
            assertSame(c, c.validate(), fb);
        }
    }

    @Test
    void datasetsAtTheQueryAndKindBoundaries() {
        // '?' at 0 and a one-letter kind: refused whichever way the text is cut
        for (String d : List.of("?mnist", "?", "m:mnist", "i:dir", "?idx:dir")) {
            TrainConfig.BadValue e = refused(D.withDataset(d));
            assertSame(TrainConfig.Option.DATASET, e.option, d);
            assertEquals(d, e.value);
        }
        for (String d : List.of("mnist?", "idx:d", "idx:d?a=1", "digits")) {
            TrainConfig c = D.withDataset(d);
            assertSame(c, c.validate(), d);
        }
    }

    @Test
    void theBooleanShorthandsSetTheirOptionAlone() {
        for (boolean v : new boolean[] {true, false}) {
            TrainConfig bn = D.withBn(!v).withBn(v), quiet = D.withQuiet(!v).withQuiet(v), resume = D.withResume(!v).withResume(v);
            assertEquals(v, bn.bn());
            assertEquals(v, quiet.quiet());
            assertEquals(v, resume.resume());
            assertEquals(D.withBn(v), D.with(TrainConfig.Option.BN, v));
            assertEquals(D.withQuiet(v), D.with(TrainConfig.Option.QUIET, v));
            assertEquals(D.withResume(v), D.with(TrainConfig.Option.RESUME, v));
        }
        assertEquals(D, D.withBn(false).withQuiet(true).withResume(true).withBn(D.bn()).withQuiet(D.quiet()).withResume(D.resume()));
    }
}

package asymbp.train;

import asymbp.cli.Main;
import asymbp.io.Json;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

/** Issue 12, item 7: one definition of the options, bound to one naming style. */
class TrainConfigTest {

    @Test
    void everyOptionIsOneSnakeCaseKeyAndOneTrainFlag() {
        Set<String> written = new HashSet<>();
        Json.MAPPER.valueToTree(TrainConfig.defaults()).fieldNames().forEachRemaining(written::add);
        Set<String> keys = new HashSet<>();
        CommandLine.Model.CommandSpec train = Main.commandLine().getSubcommands().get("train").getCommandSpec();
        for (TrainConfig.Option o : TrainConfig.Option.values()) {
            keys.add(o.key);
            assertEquals(o.flag.substring(2).replace('-', '_'), o.key, "a key is its flag in snake_case");
            assertNotNull(train.findOption(o.flag), "train has " + o.flag);
        }
        assertEquals(keys, written, "what a checkpoint or result.json holds is the option table");
    }

    @Test
    void validateRefusesAStepThatWouldNeverApplyNamingFlagAndValue() {
        TrainConfig three = TrainConfig.defaults().withEpochs(3);
        TrainConfig fits = three.withLrSteps(List.of(1, 2));
        assertSame(fits, fits.validate());
        TrainConfig.BadValue e = assertThrows(TrainConfig.BadValue.class, () -> three.withLrSteps(List.of(1, 3)).validate());
        assertEquals(TrainConfig.Option.LR_STEPS, e.option);
        assertEquals(3, e.value);
        assertEquals("--lr-steps 3: the run has 3 epoch(s) (--epochs), so this step would never apply", e.getMessage());
        // Checks that name their flag themselves come back as a BadValue of that option too.
        e = assertThrows(TrainConfig.BadValue.class, () -> three.withModel("resnet").validate());
        assertEquals(TrainConfig.Option.MODEL, e.option);
        assertTrue(e.getMessage().startsWith("--model resnet: ") && !e.why.startsWith("--model"), e.getMessage());
    }

    @Test
    void withSetsOneOptionThroughTheBinding() {
        TrainConfig d = TrainConfig.defaults();
        TrainConfig c = d.withWeightDecay(1e-3).withLrSteps(List.of(2, 3)).withMagnitude("HalfNormal").withInit(null);
        assertEquals(1e-3, c.weightDecay());
        assertEquals(List.of(2, 3), c.lrSteps());
        assertEquals("halfnormal", c.magnitude());
        assertEquals(d.withWeightDecay(1e-3).withLrSteps(List.of(2, 3)).withMagnitude("halfnormal"), c);
        assertEquals(d, c.with(TrainConfig.Option.WEIGHT_DECAY, 0.0).with(TrainConfig.Option.LR_STEPS, List.of())
                .with(TrainConfig.Option.FB_MAGNITUDE, "uniform"));
        for (TrainConfig.Option o : TrainConfig.Option.values())
            assertEquals(d, d.with(o, o.of(d)), o.key);
    }

    @Test
    void fbScaleIsANumberOrXavierAndRoundTrips() throws Exception {
        TrainConfig d = TrainConfig.defaults();
        TrainConfig x = d.with(TrainConfig.Option.FB_SCALE, "Xavier");
        assertTrue(x.fbScale().xavier());
        assertEquals(x, d.withFbScale(asymbp.model.FbScale.XAVIER));
        // checkpoints and result.json: "xavier" as a string, a number as a number (older files unchanged)
        JsonNode j = Json.MAPPER.valueToTree(x);
        assertEquals("xavier", j.get("fb_scale").asText());
        assertEquals(x, Json.MAPPER.treeToValue(j, TrainConfig.class));
        assertTrue(Json.MAPPER.valueToTree(d.withFbScale(0.25)).get("fb_scale").isNumber());
        assertEquals(0.25, d.with(TrainConfig.Option.FB_SCALE, "0.25").fbScale().value());
        for (Object bad : List.of("xavierish", "0", "-1", "NaN", "Infinity")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> d.with(TrainConfig.Option.FB_SCALE, bad));
            assertTrue(e.getMessage().startsWith("--fb-scale " + bad + ":") && e.getMessage().contains("xavier"), e.getMessage());
        }
        // fa's and dfa's B are U(−a_l, a_l) under xavier: a σ beside it is refused, naming both
        for (String mode : List.of("fa", "dfa")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> x.withFeedback(mode).withFaSigma(0.1).validate());
            assertTrue(e.getMessage().startsWith("--fa-sigma 0.1:") && e.getMessage().contains("--fb-scale xavier"), e.getMessage());
        }
        x.withFeedback("usf").withFaSigma(0.1).validate();
        assertEquals(asymbp.backend.FeedbackMode.DFA, d.withFeedback("dfa").validate().feedbackSpec().mode());
    }

    @Test
    void aCheckpointHeaderWrittenBeforeTheRenameStillReads() throws Exception {
        ObjectNode old = Json.MAPPER.valueToTree(TrainConfig.defaults().withMagnitude("halfnormal"));
        JsonNode m = old.remove("fb_magnitude");
        old.set("magnitude", m);
        assertEquals("halfnormal", Json.MAPPER.treeToValue(old, TrainConfig.class).magnitude());
        assertEquals("fb_magnitude", TrainConfig.Option.FB_MAGNITUDE.key.toLowerCase(Locale.ROOT));
    }
}

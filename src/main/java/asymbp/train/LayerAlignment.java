package asymbp.train;

/**
 * How far one weight layer's asymmetric backward is from true backprop (issue 5).
 *
 * @param layer       0-based weight layer index
 * @param name        conv1, fc3, ...
 * @param weightAngle angle in degrees between V and W, both flattened (0 for bp)
 * @param errorAngle  angle in degrees between the error this layer passes back to its input under the
 *                    configured feedback and under full bp, same batch and parameters
 */
public record LayerAlignment(int layer, String name, double weightAngle, double errorAngle) {}

package asymbp.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Named tensors inside one flat F32 buffer, in insertion order, with PyTorch {@code state_dict} names
 * and shapes ({@code conv1.weight} out×in×kh×kw, {@code fc3.weight} out×in, {@code bn1.weight} = γ, ...).
 */
public final class ParamLayout {

    /** One named tensor: its element offset in the flat buffer and its shape. */
    public record Entry(String name, long offset, int[] shape) {
        public long size() {
            long n = 1;
            for (int d : shape) n *= d;
            return n;
        }
        public String shapeString() {
            StringBuilder sb = new StringBuilder("(");
            for (int i = 0; i < shape.length; i++) sb.append(i > 0 ? ", " : "").append(shape[i]);
            return sb.append(shape.length == 1 ? ",)" : ")").toString();
        }
    }

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private long size;

    /** Appends a tensor and returns its offset. */
    public long add(String name, int... shape) {
        if (entries.containsKey(name)) throw new IllegalStateException("duplicate tensor " + name);
        Entry e = new Entry(name, size, shape.clone());
        entries.put(name, e);
        size += e.size();
        return e.offset();
    }

    public long size() { return size; }

    public Entry get(String name) {
        Entry e = entries.get(name);
        if (e == null) throw new IllegalArgumentException("no tensor named " + name);
        return e;
    }


    public List<Entry> entries() { return Collections.unmodifiableList(new ArrayList<>(entries.values())); }
}

package io.gnomon.paxos.cluster;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * A range boundary: bytes, ordered as unsigned bytes, lexicographically (so {@code "a" < "ab" < "b"} and
 * {@code 0x7f < 0x80}). In a cluster file a key is UTF-8 text, or {@code hex:} followed by two hex digits per
 * byte for any bytes at all ({@code "hex:00ff"}); text that itself starts with {@code hex:} is written in hex.
 */
public final class Key implements Comparable<Key> {
    /** The empty key: the beginning of the key space as a start; the end of the key space as an end. */
    public static final Key EMPTY = new Key(new byte[0]);

    static final String HEX_PREFIX = "hex:";

    private final byte[] bytes;

    private Key(byte[] bytes) {
        this.bytes = bytes;
    }

    /** A key of these bytes (copied). */
    public static Key of(byte[] bytes) {
        return bytes.length == 0 ? EMPTY : new Key(bytes.clone());
    }

    /** A key of this text's UTF-8 bytes. */
    public static Key ofUtf8(String text) {
        return of(text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * Reads a key as the cluster file writes it; the message of a refusal says what is wrong.
     *
     * @throws IllegalArgumentException for a bad {@code hex:} form or text that is not Unicode
     */
    static Key parse(String text) {
        if (!text.startsWith(HEX_PREFIX)) {
            try {
                ByteBuffer utf8 = StandardCharsets.UTF_8.newEncoder()
                        .onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .encode(CharBuffer.wrap(text));
                byte[] b = new byte[utf8.remaining()];
                utf8.get(b);
                return b.length == 0 ? EMPTY : new Key(b);
            } catch (CharacterCodingException e) {
                throw new IllegalArgumentException("is not Unicode text (a lone surrogate); write such bytes as "
                        + "hex:...");
            }
        }
        String hex = text.substring(HEX_PREFIX.length());
        if (hex.length() % 2 != 0 || !hex.matches("[0-9A-Fa-f]*")) {
            throw new IllegalArgumentException("'" + text + "' is not hex: followed by two hex digits (0-9, a-f) per "
                    + "byte");
        }
        byte[] b = HexFormat.of().parseHex(hex);
        return b.length == 0 ? EMPTY : new Key(b);
    }

    /** The bytes (a copy). */
    public byte[] bytes() {
        return bytes.clone();
    }

    public int length() {
        return bytes.length;
    }

    public boolean isEmpty() {
        return bytes.length == 0;
    }

    /** Compares as unsigned bytes, so the order is the one of the keys' byte strings. */
    @Override
    public int compareTo(Key other) {
        return Arrays.compareUnsigned(bytes, other.bytes);
    }

    int compareTo(byte[] key) {
        return Arrays.compareUnsigned(bytes, key);
    }

    /**
     * As the cluster file writes it: the text itself when the bytes are UTF-8 of printable characters (and do not
     * start with {@code hex:}), else {@code hex:} and lower-case hex digits. {@link #parse} reads it back.
     */
    public String toText() {
        String text = printableUtf8();
        return text != null ? text : HEX_PREFIX + HexFormat.of().formatHex(bytes);
    }

    private String printableUtf8() {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
        if (text.startsWith(HEX_PREFIX)) {
            return null;
        }
        // YAML (and a reader's eye) copes badly with controls, line separators, BOMs and unassigned characters
        boolean printable = text.codePoints().allMatch(c -> switch (Character.getType(c)) {
            case Character.CONTROL, Character.FORMAT, Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR,
                 Character.PRIVATE_USE, Character.SURROGATE, Character.UNASSIGNED -> false;
            default -> true;
        });
        return printable ? text : null;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Key k && Arrays.equals(bytes, k.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    /** The key quoted as the file writes it, e.g. {@code "k5"} or {@code "hex:00ff"}. */
    @Override
    public String toString() {
        return "\"" + toText() + "\"";
    }
}
